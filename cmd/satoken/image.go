package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// nodeImageFlags are shared by every command that needs a node image.
type nodeImageFlags struct {
	k8sVersion       string
	nodeImage        string
	k8sSource        string
	k8sSourceVersion string
	source           *nodeimage.Source // set by validate from --k8s-source
	fast             bool
}

func (f *nodeImageFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.k8sVersion, "k8s", "", "Kubernetes version of the offline-built node image (default "+nodeimage.DefaultKubernetesVersion+", verified on cgroup v1 and v2 hosts and the e2e suite's; see docs/node-image.md); run takes several, comma-separated, or all (every version verified here): one cluster each")
	c.Flags().StringVar(&f.nodeImage, "node-image", "", "use this kind node image (e.g. kindest/node:v1.34.0) instead of building one")
	c.Flags().StringVar(&f.k8sSource, "k8s-source", "", "build the node image from this local Kubernetes tree (a checkout, or an unpacked k8s.io/kubernetes module) instead of a release")
	c.Flags().StringVar(&f.k8sSourceVersion, "k8s-source-version", "", "version of the --k8s-source tree when git describe and the tree cannot tell (the release it is based on, e.g. v1.34.4)")
	c.MarkFlagsMutuallyExclusive("node-image", "k8s-source")
	c.Flags().BoolVar(&f.fast, "fast", false, fmt.Sprintf("accelerated control plane: the node image's kube-apiserver is patched to accept token lifetimes down to %s (tag <version>-fast; the rest is the stock image)", nodeimage.AcceleratedMinTTL))
}

// validate rejects a bad --k8s or --k8s-source before any slow work (unused with
// --node-image), and chooses the version for this host when none was given.
func (f *nodeImageFlags) validate() error {
	if f.k8sSourceVersion != "" && f.k8sSource == "" {
		return fmt.Errorf("--k8s-source-version needs --k8s-source")
	}
	if f.k8sSource != "" && f.k8sVersion != "" {
		return fmt.Errorf("--k8s and --k8s-source: choose one here (run takes both: a cluster of each, side by side)")
	}
	if f.nodeImage != "" || f.source != nil {
		return nil
	}
	if f.k8sSource != "" {
		// git describe and go list only: quick, and no command context reaches here.
		src, err := nodeimage.OpenSource(context.Background(), f.k8sSource, f.k8sSourceVersion)
		if err != nil {
			return err
		}
		log := phase.New()
		log.Printf("Kubernetes source %s: %s", src.Dir, src.Kind())
		log.Printf("Kubernetes source version %s (%s)", src.Version, src.VersionFrom)
		f.source = src
		return nil
	}
	if strings.Contains(f.k8sVersion, ",") || f.k8sVersion == "all" {
		return fmt.Errorf("--k8s %s: one version here; only run takes several (one cluster each)", f.k8sVersion)
	}
	if f.k8sVersion == "" {
		f.k8sVersion = nodeimage.DefaultVersion(phase.New().Printf)
	}
	return nodeimage.ValidateVersion(f.k8sVersion)
}

// version names the Kubernetes the flags build: the release, or the source tree's version
// (known once validated).
func (f *nodeImageFlags) version() string {
	if f.source != nil {
		return f.source.Version
	}
	return f.k8sVersion
}

// image returns the node image the flags name, building it when needed.
func (f *nodeImageFlags) image(ctx context.Context, env *harness.Env) (string, error) {
	return env.NodeImage(ctx, harness.NodeImageInput{K8sVersion: f.k8sVersion, Source: f.source, Override: f.nodeImage, Accelerated: f.fast})
}

func newImageCommand() *cobra.Command {
	c := &cobra.Command{Use: "image", Short: "Kind node images"}
	var flags nodeImageFlags
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the offline kind node image satoken/kind-node:<k8s version> (skipped when its inputs are unchanged)",
		Long: `Build the offline kind node image satoken/kind-node:<k8s version> (skipped when its inputs are unchanged).

With --k8s-source DIR it is built from a local Kubernetes tree instead of a release and
tagged with the tree's version (git describe; '+' becomes '-', a bare release gets -src):
  img=$(satoken image build --k8s-source ~/src/kubernetes)
  satoken run --node-image "$img" --versions v8.0.0,v0.37.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.validate(); err != nil {
				return err
			}
			env, err := prepare(cmd, phase.New())
			if err != nil {
				return err
			}
			image, err := flags.image(cmd.Context(), env)
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), image)
			}
			return err
		},
	}
	flags.register(build)
	versions := &cobra.Command{
		Use:   "versions",
		Short: "The Kubernetes versions verified on this host's cgroup version, oldest first (what run --k8s all runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vs, err := nodeimage.VerifiedVersions()
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), strings.Join(vs, "\n"))
			}
			return err
		},
	}
	c.AddCommand(build, versions)
	return c
}
