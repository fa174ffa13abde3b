package addons

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
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
)

// BuildInput says which add-ons to build and where to cache them.
type BuildInput struct {
	RepoRoot string
	CacheDir string
	Addons   []Addon
	Log      *phase.Recorder
}

// Built is an add-on whose binary is built and whose image is in the local engine.
type Built struct {
	Addon     Addon
	Binary    string
	InputHash string
}

// goBuildEnv builds static binaries from the add-on's module file alone.
var goBuildEnv = gocmd.Pinned

// recipe names the build and image recipe in the input hash; change it with them.
const recipe = "go build -trimpath -buildvcs=false -ldflags=-s -w; oci: FROM scratch, the binary at Path 0755, Entrypoint, User, labels"

// Build builds (or reuses) each add-on's binary and loads its image, tagged as its
// manifests or chart name it, into the local engine.
func Build(ctx context.Context, in BuildInput) ([]Built, error) {
	goVersion, err := gocmd.Version(ctx)
	if err != nil {
		return nil, err
	}
	var out []Built
	for _, a := range in.Addons {
		b, err := build(ctx, in, a, goVersion)
		if err != nil {
			return out, fmt.Errorf("add-on %s: %w", a.Name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func build(ctx context.Context, in BuildInput, a Addon, goVersion string) (Built, error) {
	dir := filepath.Join(in.RepoRoot, Dir, a.Name)
	h := cache.NewHasher()
	h.Field("go", []byte(goVersion))
	h.Field("recipe", []byte(recipe+"\x00"+strings.Join(goBuildEnv, "\x00")))
	h.Field("package", []byte(a.Package))
	h.Field("image", []byte(a.Image+"\x00"+a.Path+"\x00"+strings.Join(a.Entrypoint, "\x00")+"\x00"+a.User))
	if err := h.Files(dir, []string{filepath.Join(dir, ModFile), filepath.Join(dir, SumFile)}); err != nil {
		return Built{}, err
	}
	b := Built{Addon: a, InputHash: h.Sum()}
	work := filepath.Join(in.CacheDir, "addons", a.Name+"-"+b.InputHash)
	b.Binary = filepath.Join(work, filepath.Base(a.Path))
	if _, err := os.Stat(b.Binary); err == nil {
		in.Log.Printf("add-on %s: binary cached (%s)", a.Name, b.InputHash)
	} else if err := in.Log.Run(fmt.Sprintf("go build %s@%s (%s)", a.Module, a.Version, a.Package), func() error { return goBuild(ctx, dir, work, a, b.Binary) }); err != nil {
		return b, err
	}
	// Checked on cached binaries too: the wrong source would make the expectation moot.
	if v, err := find.DependencyVersion(b.Binary, a.Module); err != nil || v != a.Version {
		return b, fmt.Errorf("%s is built from %s %q, want %s (%v)", b.Binary, a.Module, v, a.Version, err)
	}
	if v, err := find.DependencyVersion(b.Binary, find.ClientGoPath); err != nil || v != a.ClientGo {
		return b, fmt.Errorf("%s links %s %q, want %s (%v)", b.Binary, find.ClientGoPath, v, a.ClientGo, err)
	}
	if docker.UpToDate(ctx, a.Image, b.InputHash) {
		in.Log.Printf("add-on %s: image %s up to date", a.Name, a.Image)
		return b, nil
	}
	return b, in.Log.Run("docker load "+a.Image, func() error { return load(ctx, b) })
}

// goBuild builds the add-on's main package in a directory of its own whose go.mod and
// go.sum are the entry's module files, writing next to dst and renaming, so an
// interrupted build never leaves a binary that looks cached.
func goBuild(ctx context.Context, recipeDir, work string, a Addon, dst string) error {
	src := filepath.Join(work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	for from, to := range map[string]string{ModFile: "go.mod", SumFile: "go.sum"} {
		data, err := os.ReadFile(filepath.Join(recipeDir, from))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, to), data, 0o644); err != nil {
			return err
		}
	}
	tmp := dst + ".tmp"
	if _, err := gocmd.Run(ctx, src, goBuildEnv, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", tmp, a.Package); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// OCI is the add-on's image: FROM scratch, the binary where the add-on's own image has
// it, labelled with its inputs.
func (b Built) OCI() (v1.Image, error) {
	l, err := ociimage.BinaryLayer(b.Binary, b.Addon.Path)
	if err != nil {
		return nil, err
	}
	return ociimage.Image([]v1.Layer{l}, v1.Config{Entrypoint: b.Addon.Entrypoint, User: b.Addon.User},
		map[string]string{docker.InputsLabel: b.InputHash, "satoken.addon": b.Addon.Name, "satoken.addon.module": b.Addon.Module + "@" + b.Addon.Version})
}

func load(ctx context.Context, b Built) error {
	img, err := b.OCI()
	if err != nil {
		return err
	}
	return docker.LoadImage(ctx, b.Addon.Image, img)
}
