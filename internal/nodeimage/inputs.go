package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"

	// The node files must come from the kind version this binary links; importing kind
	// here guarantees it is in the build info even where nothing else links it.
	_ "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

// inputsLabel records on each built image the hash of everything that went into it.
const inputsLabel = docker.InputsLabel

// builderRevision changes whenever this package starts producing different images.
const builderRevision = 5

// inputs is everything a node image depends on; its hash is the image's cache key.
type inputs struct {
	BuilderRevision   int
	KubernetesVersion string
	KindVersion       string
	KindFilesHash     string
	DebianSuite       string
	Packages          []string
	CNIConfig         string
	Workaround        bool
	WrapperHash       string `json:",omitempty"`
	// Containerd is the containerd version built from its Go module for the node; empty
	// (and so absent from the hash) where Debian's package serves.
	Containerd string `json:",omitempty"`
	// Source is the content hash of a source tree built instead of a release, and
	// SourceRelease the release it is based on; both empty for a release.
	Source        string `json:",omitempty"`
	SourceRelease string `json:",omitempty"`

	KindFilesDir string `json:"-"`
}

func (b *builder) inputs(ctx context.Context) (inputs, error) {
	in := inputs{
		BuilderRevision:   builderRevision,
		KubernetesVersion: b.in.KubernetesVersion,
		DebianSuite:       debianSuite,
		Packages:          rootfsPackages,
		CNIConfig:         cniConfig,
		Workaround:        b.in.SysResourceWorkaround,
		Containerd:        containerdFor(b.in.KubernetesVersion),
	}
	if src := b.in.Source; src != nil {
		th, err := hashSource(src.Dir)
		if err != nil {
			return in, fmt.Errorf("hash %s: %w", src.Dir, err)
		}
		b.log.Printf("source tree %s: %d files, %.0f MB hashed in %s: %s", src.Dir, th.Files, float64(th.Bytes)/1e6, th.Elapsed.Round(10*time.Millisecond), th.Hash)
		in.Source, in.SourceRelease = th.Hash, src.Release
	}
	var err error
	in.KindVersion, in.KindFilesDir, err = kindFiles(ctx)
	if err != nil {
		return in, err
	}
	if in.KindFilesHash, err = hashTree(in.KindFilesDir); err != nil {
		return in, err
	}
	if in.Workaround {
		if in.WrapperHash, err = hashFile(b.in.RuncWrapper); err != nil {
			return in, fmt.Errorf("runc wrapper: %w", err)
		}
	}
	return in, nil
}

func (in inputs) hash() string {
	data, _ := json.Marshal(in)
	return shortHash(string(data))
}

// baseHash keys the base image: everything but the Kubernetes binaries and images.
func (in inputs) baseHash() string {
	if in.Source != "" {
		// The base holds no Kubernetes binary: a source build shares its release's.
		in.KubernetesVersion, in.Source, in.SourceRelease = in.SourceRelease, "", ""
	}
	in.KubernetesVersion = in.KubernetesVersion + "/base" // the pause image in containerd's config depends on it
	return in.hash()
}

func (in inputs) summary() string {
	containerd := "debian's containerd"
	if in.Containerd != "" {
		containerd = "containerd " + in.Containerd + " built from source"
	}
	kubernetes := in.KubernetesVersion
	if in.Source != "" {
		kubernetes += " from source tree " + in.Source
	}
	return fmt.Sprintf("kubernetes %s, kind %s node files, debian %s, %s, CAP_SYS_RESOURCE workaround %v",
		kubernetes, in.KindVersion, in.DebianSuite, containerd, in.Workaround)
}

// kindFiles locates images/base/files of the sigs.k8s.io/kind version this binary links
// (test binaries carry no dependency list: there the checkout's go.mod decides).
func kindFiles(ctx context.Context) (version, dir string, err error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "sigs.k8s.io/kind" {
				version = dep.Version
			}
		}
	}
	if version == "" {
		// In the working directory's module: a test binary of this checkout has no deps.
		if version, err = gocmd.Run(ctx, ".", gocmd.Resolve, "list", "-m", "-f", "{{.Version}}", "sigs.k8s.io/kind"); err != nil {
			return "", "", fmt.Errorf("which sigs.k8s.io/kind is linked: %w", err)
		}
	}
	modDir, err := moduleDir(ctx, "sigs.k8s.io/kind", version)
	if err != nil {
		return "", "", err
	}
	return version, filepath.Join(modDir, "images", "base", "files"), nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

func hashFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return shortHash(string(data)), nil
}

// hashTree hashes relative paths and contents of every file under dir.
func hashTree(dir string) (string, error) {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		h, err := hashFile(path)
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&sb, "%s %s\n", rel, h)
		return err
	})
	return shortHash(sb.String()), err
}
