package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// nodeImageFlags are shared by every command that needs a node image.
type nodeImageFlags struct {
	k8sVersion string
	nodeImage  string
}

func (f *nodeImageFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.k8sVersion, "k8s", "", "Kubernetes version of the offline-built node image (default: the newest verified on this host's cgroup version, "+nodeimage.DefaultKubernetesVersion+" unless measured otherwise; see README)")
	c.Flags().StringVar(&f.nodeImage, "node-image", "", "use this kind node image (e.g. kindest/node:v1.34.0) instead of building one")
}

// validate rejects a bad --k8s before any slow work (unused with --node-image), and
// chooses the version for this host when none was given.
func (f *nodeImageFlags) validate() error {
	if f.nodeImage != "" {
		return nil
	}
	if f.k8sVersion == "" {
		f.k8sVersion = nodeimage.DefaultVersion(phase.New().Printf)
	}
	return nodeimage.ValidateVersion(f.k8sVersion)
}

func newImageCommand() *cobra.Command {
	c := &cobra.Command{Use: "image", Short: "Kind node images"}
	var flags nodeImageFlags
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the offline kind node image satoken/kind-node:<k8s version> (skipped when its inputs are unchanged)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.validate(); err != nil {
				return err
			}
			env, err := prepare(cmd, phase.New())
			if err != nil {
				return err
			}
			image, err := env.NodeImage(cmd.Context(), flags.k8sVersion, flags.nodeImage)
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), image)
			}
			return err
		},
	}
	flags.register(build)
	c.AddCommand(build)
	return c
}
