// Package harness wires the steps every entry point shares — host prerequisites, node
// image, probe images, cluster options — so the CLI and the e2e suite run the same code.
package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/satoken-e2e/satoken-e2e/internal/cache"
	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/host"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

// Env is a prepared host.
type Env struct {
	Root     string // a checkout or the unpacked embedded tree (internal/bundle)
	Log      *phase.Recorder
	Facts    host.Facts
	CacheDir string
}

// Prepare installs and starts what the host needs (a no-op on a ready host).
func Prepare(ctx context.Context, root string, log *phase.Recorder) (*Env, error) {
	dir, err := cache.Dir()
	if err != nil {
		return nil, err
	}
	e := &Env{Root: root, Log: log, CacheDir: dir}
	err = log.Run("host prerequisites", func() error {
		e.Facts, err = host.Ensure(ctx, host.Input{RepoRoot: root, Log: log})
		if err == nil && e.Facts.CapSysResourceMissing {
			log.Printf("CAP_SYS_RESOURCE is missing here: privileged containers run through %s", host.WrapperPath)
		}
		return err
	})
	return e, err
}

// NodeImageInput names a node image: a given one (Override, e.g. kindest/node from a
// registry), or one to build offline from a Kubernetes release or a local source tree.
type NodeImageInput struct {
	K8sVersion string
	Source     *nodeimage.Source
	Override   string
	// Accelerated builds the image whose apiserver accepts tokens down to
	// nodeimage.AcceleratedMinTTL (nodeimage.BuildAccelerated).
	Accelerated bool
}

// NodeImage returns the override when given, else builds (or reuses) the offline node
// image.
func (e *Env) NodeImage(ctx context.Context, in NodeImageInput) (string, error) {
	if in.Override != "" {
		e.Log.Printf("using node image %s (nothing built)", in.Override)
		return in.Override, nil
	}
	tag, build := nodeimage.ImageName, nodeimage.Build
	if in.Accelerated {
		tag, build = nodeimage.AcceleratedImageName, nodeimage.BuildAccelerated
	}
	name := "node image " + tag(in.K8sVersion)
	if in.Source != nil {
		name = "node image " + tag(in.Source.Version) + " from " + in.Source.Dir
	}
	var image string
	err := e.Log.Run(name, func() (err error) {
		image, err = build(ctx, nodeimage.Input{
			KubernetesVersion:     in.K8sVersion,
			Source:                in.Source,
			CacheDir:              e.CacheDir,
			SysResourceWorkaround: e.Facts.CapSysResourceMissing,
			RuncWrapper:           host.WrapperPath,
			Log:                   e.Log,
		})
		return err
	})
	return image, err
}

// SelectProbes loads the probe matrix and picks spec ("all" or labels).
func SelectProbes(root, spec string) ([]probes.Probe, error) {
	all, err := probes.Load(root)
	if err != nil {
		return nil, err
	}
	return probes.Select(all, spec)
}

// BuildProbes builds the probe images (cached by their inputs).
func (e *Env) BuildProbes(ctx context.Context, selected []probes.Probe) ([]probes.Built, error) {
	if slices.ContainsFunc(selected, probes.Probe.IsJS) {
		if err := host.Install(ctx, e.Log, host.NodePackages); err != nil {
			return nil, err
		}
	}
	var built []probes.Built
	err := e.Log.Run(fmt.Sprintf("probe images (%d)", len(selected)), func() (err error) {
		built, err = probes.Build(ctx, probes.BuildInput{RepoRoot: e.Root, Probes: selected, CacheDir: e.CacheDir, Log: e.Log})
		return err
	})
	return built, err
}

// ClusterOptions are the defaults for a cluster called name: state under the cache,
// fixtures from the checkout, 1h max token expiration without extension.
func ClusterOptions(root, name string) (cluster.Options, error) {
	state, err := cache.Dir("clusters", name)
	return cluster.Options{
		Name: name, FixturesDir: filepath.Join(root, "fixtures"), StateDir: state,
		MaxTokenExpiration: cluster.MinMaxTokenExpiration,
	}, err
}
