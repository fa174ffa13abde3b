package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/bundle"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print satoken's version, where its fixtures and probe sources come from, and its client-go matrix",
		Long: `Prints the module version of this binary ("(devel)" when built from a checkout), the Go
version it was built with, where its files come from — the satoken-e2e checkout it runs
in (or $SATOKEN_REPO), whose files win, else the files embedded in the binary, unpacked
into the cache — and the client library versions of the probe matrix those files define (client-go, client-node).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			src, err := bundle.Root(wd)
			if err != nil {
				return err
			}
			all, err := probes.Load(src.Root)
			if err != nil {
				return err
			}
			from := "checkout"
			if !src.Checkout {
				from = "embedded in the binary, unpacked"
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "satoken\t%s\n", binaryVersion())
			fmt.Fprintf(w, "go\t%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "files\t%s (%s)\n", src.Root, from)
			fmt.Fprintf(w, "probe matrix\t%d versions\n", len(all))
			for _, p := range all {
				fmt.Fprintf(w, "  %s\t%s %s\n", p.Label, p.Library(), p.LibraryVersion())
			}
			return w.Flush()
		},
	}
}

// binaryVersion is the main module's version in the build info: the tag or pseudo-version
// for `go install …@version`, "(devel)" for a build in a checkout.
func binaryVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "unknown"
	}
	return bi.Main.Version
}
