package probes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/cache"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/ociimage"
)

// CanaryDir is the canary's package (standard library only), relative to the repository
// root: `satoken check` runs it beside a workload to prove its 401s reach the audit log.
const CanaryDir = "apps/canary"

// canaryBuildArgs build the canary from the root module as it is (no dependencies).
var canaryBuildArgs = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

// Canary is the built canary: its binary and image (satoken/canary:<inputs hash>, an
// immutable name: pods run exactly this build).
type Canary struct {
	Binary, Image, InputHash string
}

// BuildCanary builds (or reuses) the canary's binary and image.
func BuildCanary(ctx context.Context, in BuildInput) (Canary, error) {
	goVersion, err := gocmd.Version(ctx)
	if err != nil {
		return Canary{}, err
	}
	root := filepath.Join(in.RepoRoot, CanaryDir)
	h := cache.NewHasher()
	h.Field("go", []byte(goVersion))
	h.Field("build", []byte(strings.Join(canaryBuildArgs, "\x00")+"\x00"+strings.Join(goBuildEnv, "\x00")))
	files, err := filepath.Glob(filepath.Join(root, "*.go"))
	if err != nil {
		return Canary{}, err
	}
	if err := h.Files(root, files); err != nil {
		return Canary{}, err
	}
	c := Canary{InputHash: h.Sum()}
	c.Image = "satoken/canary:" + c.InputHash
	c.Binary = filepath.Join(in.CacheDir, "canary", c.InputHash, "canary")
	if _, err := os.Stat(c.Binary); err != nil {
		if err := in.Log.Run("go build canary", func() error { return c.build(ctx, in.RepoRoot) }); err != nil {
			return c, err
		}
	}
	if docker.UpToDate(ctx, c.Image, c.InputHash) {
		return c, nil
	}
	img, err := c.OCI()
	if err != nil {
		return c, err
	}
	return c, in.Log.Run("docker load "+c.Image, func() error { return docker.LoadImage(ctx, c.Image, img) })
}

func (c Canary) build(ctx context.Context, repoRoot string) error {
	if err := os.MkdirAll(filepath.Dir(c.Binary), 0o755); err != nil {
		return err
	}
	tmp := c.Binary + ".tmp"
	args := append(append([]string(nil), canaryBuildArgs...), "-o", tmp, "./"+CanaryDir)
	if _, err := gocmd.Run(ctx, repoRoot, goBuildEnv, args...); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("canary: %w", err)
	}
	return os.Rename(tmp, c.Binary)
}

// OCI is the canary's image: FROM scratch, /canary, run as nobody.
func (c Canary) OCI() (v1.Image, error) {
	l, err := ociimage.BinaryLayer(c.Binary, "canary")
	if err != nil {
		return nil, err
	}
	return ociimage.Image([]v1.Layer{l}, v1.Config{Entrypoint: []string{"/canary"}, User: "65534:65534"},
		map[string]string{docker.InputsLabel: c.InputHash})
}
