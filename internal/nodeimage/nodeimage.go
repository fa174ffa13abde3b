// Package nodeimage builds a kind node image without any container registry: Kubernetes,
// etcd and pause from their Go/C sources, a debootstrap Debian rootfs, and the control-plane
// images kubeadm expects preloaded into the node's containerd.
//
// The node's systemd units, entrypoint and containerd config come from the sigs.k8s.io/kind
// module the harness links (images/base/files in the module cache), so the node honours the
// contract of exactly that kind version.
package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// Input says which node image to build.
type Input struct {
	KubernetesVersion string // e.g. v1.34.4
	CacheDir          string // binaries and rootfs live here across clones
	// Source, when set, is the tree to build Kubernetes from; its Version replaces
	// KubernetesVersion.
	Source *Source
	// SysResourceWorkaround routes privileged pods through the runc wrapper and restricts
	// oom_score_adj: needed where the host lacks CAP_SYS_RESOURCE, never applied otherwise.
	SysResourceWorkaround bool
	// RuncWrapper is the wrapper binary copied into the node when the workaround is on.
	RuncWrapper string
	Log         *phase.Recorder
}

// ImageName is the tag of the node image built for a Kubernetes version.
func ImageName(k8sVersion string) string { return "satoken/kind-node:" + k8sVersion }

type builder struct {
	in         Input
	log        *phase.Recorder
	now        time.Time
	workDir    string
	baseImage  string // set by the rootfs step
	pauseImage string // set from the kubeadm image list
	// containerdDir holds containerdCommands built from source; "" keeps Debian's containerd.
	containerdDir string
}

// ValidateVersion rejects a Kubernetes version the builder cannot build.
func ValidateVersion(v string) error {
	_, err := stagingVersion(v)
	return err
}

// Build makes ImageName(in.KubernetesVersion) (or of in.Source.Version) unless an image
// with the same inputs exists.
func Build(ctx context.Context, in Input) (string, error) {
	st, err := build(ctx, in)
	return st.image, err
}

// stock is a built node image: its tag, its inputs hash and where its Kubernetes
// binaries are cached (an accelerated image is made from it).
type stock struct {
	image, hash, binDir string
}

func build(ctx context.Context, in Input) (stock, error) {
	release := in.KubernetesVersion
	if in.Source != nil {
		in.KubernetesVersion, release = in.Source.Version, in.Source.Release
	}
	if err := ValidateVersion(release); err != nil {
		return stock{}, err
	}
	b := &builder{in: in, log: in.Log, now: time.Now()}
	image := ImageName(in.KubernetesVersion)
	inputs, err := b.inputs(ctx)
	if err != nil {
		return stock{}, err
	}
	hash := inputs.hash()
	kubeDir := filepath.Join(in.CacheDir, "kubernetes")
	binName := in.KubernetesVersion
	what := in.KubernetesVersion
	if in.Source != nil {
		// Keyed by the tree's content: the same version names every edit of a dirty tree.
		binName = sourceBinPrefix + inputs.Source + "-" + in.KubernetesVersion
		what += " from " + in.Source.Dir
	}
	st := stock{image: image, hash: hash, binDir: filepath.Join(kubeDir, binName, "bin")}
	if docker.UpToDate(ctx, image, hash) {
		b.log.Printf("node image %s is up to date (inputs %s)", image, hash)
		return st, nil
	}
	b.log.Printf("building node image %s (inputs %s): %s", image, hash, inputs.summary())
	b.workDir, err = os.MkdirTemp(in.CacheDir, "nodeimage-build-")
	if err != nil {
		return stock{}, err
	}
	defer os.RemoveAll(b.workDir)

	binDir := st.binDir
	var images kubeadmImages
	type step struct {
		name string
		fn   func() error
	}
	steps := []step{
		{"kubernetes binaries " + what, func() error { return b.kubernetesBinaries(ctx, binDir) }},
		{"kubeadm image list", func() (err error) {
			images, err = listKubeadmImages(ctx, binDir, in.KubernetesVersion)
			b.pauseImage = string(images.Pause)
			return err
		}},
		{"etcd", func() error { return b.buildEtcd(ctx, images.etcdModuleVersion(), binDir) }},
		{"pause", func() error { return b.buildPause(ctx, images.Pause.tag(), binDir) }},
		{"crictl", func() error { return b.buildCrictl(ctx, binDir) }},
	}
	if inputs.Containerd != "" {
		b.containerdDir = filepath.Join(in.CacheDir, "containerd", inputs.Containerd, "bin")
		steps = append(steps, step{"containerd " + inputs.Containerd, func() error {
			return b.buildContainerd(ctx, inputs.Containerd, b.containerdDir)
		}})
	}
	steps = append(steps, []step{
		{"debian rootfs", func() error { return b.rootfs(ctx, inputs) }},
		{"control-plane images", func() error { return b.componentImages(ctx, binDir, images) }},
		{"assemble node image", func() error { return b.assemble(ctx, binDir, images, image, hash) }},
	}...)
	for _, s := range steps {
		if err := b.log.Run(s.name, s.fn); err != nil {
			return stock{}, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	docker.PruneDangling(ctx)
	if in.Source != nil {
		pruneSourceBinaries(kubeDir, binName)
	}
	return st, nil
}
