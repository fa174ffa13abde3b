package main

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// Default cluster names: each command its own, so a `check` never replaces the cluster a
// waiting `run` uses (a lock refuses that too, for any name).
const (
	defaultClusterName = "satoken"
	runClusterName     = "satoken-run"
	checkClusterName   = "satoken-check"
	scanClusterName    = "satoken-scan" // scan --measure's, one per Kubernetes version
)

// addClusterNameFlag is the one flag naming a cluster on every command (--name is its old
// spelling on cluster up/down).
func addClusterNameFlag(c *cobra.Command, p *string, def string) {
	c.Flags().StringVar(p, "cluster", def, "kind cluster name")
	c.Flags().StringVar(p, "name", def, "")
	_ = c.Flags().MarkDeprecated("name", "use --cluster")
}

// clusterFlags are shared by `cluster up`, `run` and `check`.
type clusterFlags struct {
	name      string
	maxExpiry time.Duration
	extend    bool
	reuse     bool
	image     nodeImageFlags
	preload   func() (map[string]v1.Image, error) // not a flag: the images the job will ship (cluster.Options.Preload)
}

func (f *clusterFlags) register(c *cobra.Command, defaultName string) {
	addClusterNameFlag(c, &f.name, defaultName)
	c.Flags().DurationVar(&f.maxExpiry, "max-token-expiration", time.Hour, "apiserver --service-account-max-token-expiration (>= 1h)")
	c.Flags().BoolVar(&f.extend, "extend-token-expiration", false, "apiserver --service-account-extend-token-expiration (true hides expiry for a year)")
	c.Flags().BoolVar(&f.reuse, "reuse", false, "keep an existing cluster of this name instead of replacing it")
	f.image.register(c)
}

// options validates the flags, before any slow work starts.
func (f *clusterFlags) options() (cluster.Options, error) {
	root, err := repoRoot()
	if err != nil {
		return cluster.Options{}, err
	}
	o, err := harness.ClusterOptions(root, f.name)
	if err != nil {
		return o, err
	}
	o.MaxTokenExpiration, o.ExtendTokenExpiration, o.Reuse = f.maxExpiry, f.extend, f.reuse
	o.Preload = f.preload
	o.NodeImage = "pending" // validated for real once resolved
	if err := f.image.validate(); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// up resolves the node image and creates the cluster on a prepared host.
func (f *clusterFlags) up(cmd *cobra.Command, env *harness.Env) (*cluster.Cluster, error) {
	o, err := f.options()
	if err != nil {
		return nil, err
	}
	if o.NodeImage, err = f.image.image(cmd.Context(), env); err != nil {
		return nil, err
	}
	var c *cluster.Cluster
	err = env.Log.Run(fmt.Sprintf("kind cluster %q (max token expiration %s, extend %v)", o.Name, o.MaxTokenExpiration, o.ExtendTokenExpiration), func() error {
		c, err = cluster.Up(cmd.Context(), o, env.Log)
		return err
	})
	return c, err
}

func newClusterCommand() *cobra.Command {
	c := &cobra.Command{Use: "cluster", Short: "Create or delete a kind cluster with short-lived ServiceAccount tokens"}
	var f clusterFlags
	up := &cobra.Command{
		Use:   "up",
		Short: "Create the cluster and print its kubeconfig path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := f.options(); err != nil {
				return err
			}
			env, err := prepare(cmd, phase.New())
			if err != nil {
				return err
			}
			cl, err := f.up(cmd, env)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kubeconfig: %s\naudit log:  %s\n", cl.Kubeconfig(), cl.AuditLog())
			return nil
		},
	}
	f.register(up, defaultClusterName)
	var downName string
	down := &cobra.Command{
		Use:   "down",
		Short: "Delete the cluster and its state (the shared kind network stays, as kind leaves it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := repoRoot()
			if err != nil {
				return err
			}
			o, err := harness.ClusterOptions(root, downName)
			if err != nil {
				return err
			}
			return cluster.Down(o)
		},
	}
	addClusterNameFlag(down, &downName, defaultClusterName)
	c.AddCommand(up, down)
	return c
}
