package docker

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// Images reads local images (`docker save`) so they can be shipped to a cluster; cleanup
// removes the archive they are read from, once shipped.
func Images(ctx context.Context, names ...string) (images map[string]v1.Image, cleanup func(), err error) {
	tmp, err := os.CreateTemp("", "satoken-local-*.tar")
	if err != nil {
		return nil, nil, err
	}
	tmp.Close()
	cleanup = func() { os.Remove(tmp.Name()) }
	if err := Save(ctx, tmp.Name(), names...); err != nil {
		cleanup()
		return nil, nil, err
	}
	images = map[string]v1.Image{}
	for _, n := range names {
		tag, err := name.NewTag(n)
		if err == nil {
			images[n], err = tarball.ImageFromPath(tmp.Name(), &tag)
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("image %s: %w", n, err)
		}
	}
	return images, cleanup, nil
}

// Load loads an image archive (docker save format) into the local engine.
func Load(ctx context.Context, archive string) error {
	_, err := hostcmd.Output(exec.CommandContext(ctx, "docker", "load", "-q", "-i", archive))
	return err
}

// LoadImage puts an image built in Go into the local engine under ref (for scans,
// `docker run` and the clusters' image sinks): written as an archive and loaded.
func LoadImage(ctx context.Context, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "satoken-image-*.tar")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := tarball.WriteToFile(tmp.Name(), tag, img); err != nil {
		return err
	}
	return Load(ctx, tmp.Name())
}
