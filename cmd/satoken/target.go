package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/registry"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// targetFlags point `run` and `check` at a cluster satoken did not create.
type targetFlags struct {
	kubeconfig  string
	context     string
	registry    string
	load        string
	auditLog    string
	pullSecrets []string
}

// ownClusterFlags only make sense for a cluster satoken creates.
var ownClusterFlags = []string{"cluster", "name", "max-token-expiration", "extend-token-expiration", "reuse", "k8s", "node-image", "keep-cluster"}

func (f *targetFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "use the existing cluster of this kubeconfig (no cluster is created; satoken deploys into namespaces of its own and deletes them at the end)")
	c.Flags().StringVar(&f.context, "context", "", "kubeconfig context (default: its current context)")
	c.Flags().StringVar(&f.registry, "registry", "", "with --kubeconfig: push the probe images to HOST[:PORT]/PATH (no Docker needed; credentials from ~/.docker/config.json)")
	c.Flags().StringVar(&f.load, "load", "", "with --kubeconfig: load the images into the nodes of a kind cluster made by anyone, kind:NAME")
	c.Flags().StringVar(&f.auditLog, "audit-log", "", "with --kubeconfig: the apiserver's audit log, FILE or DIR (Metadata level or above), as evidence")
}

func (f *targetFlags) existing() bool { return f.kubeconfig != "" }

// validate rejects flag combinations before any slow work; probeImages says whether the
// command ships images of its own (run), which then need a way into the cluster.
func (f *targetFlags) validate(cmd *cobra.Command, probeImages bool) error {
	if !f.existing() {
		for _, name := range []string{"context", "registry", "load", "audit-log", "pull-secret"} {
			if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
				return fmt.Errorf("--%s applies to an existing cluster: give --kubeconfig too (without it satoken creates its own kind cluster)", name)
			}
		}
		return nil
	}
	for _, name := range ownClusterFlags {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			return fmt.Errorf("--%s applies to a cluster satoken creates; with --kubeconfig nothing is created", name)
		}
	}
	if f.registry != "" && f.load != "" {
		return fmt.Errorf("--registry and --load: choose one way for the images into the cluster")
	}
	if probeImages && f.registry == "" && f.load == "" {
		return fmt.Errorf("--kubeconfig: the probe images need a way into that cluster: --registry HOST[:PORT]/PATH (pushed, pulled by the nodes) or --load kind:NAME (a kind cluster's nodes)")
	}
	for _, s := range f.pullSecrets {
		if ns, name, ok := strings.Cut(s, "/"); !ok || ns == "" || name == "" {
			return fmt.Errorf("--pull-secret %q: want NAMESPACE/NAME (copied into satoken's namespaces)", s)
		}
	}
	_, err := f.sink()
	return err
}

// sink is how images reach the existing cluster's nodes (nil: they are not shipped).
func (f *targetFlags) sink() (target.Sink, error) {
	switch {
	case f.registry != "":
		return registry.Parse(f.registry)
	case f.load != "":
		name, ok := strings.CutPrefix(f.load, "kind:")
		if !ok || name == "" {
			return nil, fmt.Errorf("--load %q: want kind:NAME (the kind cluster whose nodes get the images)", f.load)
		}
		return cluster.Nodes{Name: name}, nil
	}
	return nil, nil
}

// target describes the existing cluster; nothing is contacted yet.
func (f *targetFlags) target() (target.Target, error) {
	name, err := kube.CurrentContext(f.kubeconfig, f.context)
	if err != nil {
		return target.Target{}, fmt.Errorf("--kubeconfig %s: %w", f.kubeconfig, err)
	}
	sink, err := f.sink()
	if err != nil {
		return target.Target{}, err
	}
	return target.Target{Name: name, Kubeconfig: f.kubeconfig, Context: f.context, Existing: true,
		AuditLog: f.auditLog, Images: sink, PullSecrets: f.pullSecrets}, nil
}
