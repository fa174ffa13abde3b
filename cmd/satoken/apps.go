package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

func newAppsCommand() *cobra.Command {
	c := &cobra.Command{Use: "apps", Short: "The probe matrix: client-go (Go) and @kubernetes/client-node (JavaScript)"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the pinned probe versions (label, language, client library, notes); others build on demand with --versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := repoRoot()
			if err != nil {
				return err
			}
			all, err := probes.Load(root)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "LABEL\tLANGUAGE\tLIBRARY\tVERSION\tK8S\tIMAGE\tNOTE")
			for _, p := range all {
				k8s := p.K8sRelease
				if k8s == "" {
					k8s = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Label, p.Language, p.Library(), p.LibraryVersion(), k8s, probes.ImageName(p.Label), p.Note)
			}
			return w.Flush()
		},
	}
	var versions string
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the probe images satoken/probe:<label> (Go: FROM scratch; JavaScript: Debian's Node.js) (skipped when unchanged)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := repoRoot()
			if err != nil {
				return err
			}
			selected, err := harness.SelectProbes(root, versions)
			if err != nil {
				return err
			}
			env, err := prepare(cmd, phase.New())
			if err != nil {
				return err
			}
			built, err := env.BuildProbes(cmd.Context(), selected)
			for _, b := range built {
				fmt.Fprintln(cmd.OutOrStdout(), b.Image)
			}
			return err
		},
	}
	build.Flags().StringVar(&versions, "versions", "all", "comma-separated probe labels (either language), or all, go, js; "+unpinnedHelp)
	c.AddCommand(list, build)
	return c
}
