package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

func newCleanCommand() *cobra.Command {
	var f targetFlags
	c := &cobra.Command{
		Use:   "clean --kubeconfig FILE [--context NAME]",
		Short: "Remove what an interrupted satoken session left in an existing cluster",
		Long: `Deletes every namespace satoken created in the cluster (they carry the label
app.kubernetes.io/part-of=satoken-e2e) and waits until they are gone, and removes the
MutatingAdmissionPolicy satoken check installs with --mutate policy. A session that ends
normally, fails or is interrupted with Ctrl-C cleans up by itself; this is for one that was
killed. Clusters satoken created are deleted with satoken cluster down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.existing() {
				return errors.New("--kubeconfig is required (satoken's own clusters: satoken cluster down)")
			}
			t, err := f.target()
			if err != nil {
				return err
			}
			kc, err := t.Client()
			if err != nil {
				return err
			}
			if err := target.Reach(cmd.Context(), kc, t); err != nil {
				return err
			}
			left, err := target.Leftovers(cmd.Context(), kc)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, ns := range left {
				fmt.Fprintf(out, "deleting namespace %s\n", ns)
			}
			if err := target.DeleteNamespaces(cmd.Context(), kc, left); err != nil {
				return err
			}
			if err := check.RemovePolicies(cmd.Context(), kc); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: %d satoken namespace(s) removed; no satoken admission policy left\n", t.Describe(), len(left))
			return nil
		},
	}
	c.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to clean")
	c.Flags().StringVar(&f.context, "context", "", "kubeconfig context (default: its current context)")
	return c
}
