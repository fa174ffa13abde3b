package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/bundle"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

func newHostCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "host",
		Short: "Install and start what kind needs on this host (Docker engine, runc workaround where required)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := prepare(cmd, phase.New())
			return err
		},
	}
}

// prepare is the first step of every command that needs Docker.
func prepare(cmd *cobra.Command, log *phase.Recorder) (*harness.Env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	return harness.Prepare(cmd.Context(), root, log)
}

// repoRoot is where satoken reads fixtures and probe sources: the satoken-e2e checkout it
// runs in (or $SATOKEN_REPO), else the files embedded in the binary, unpacked into the cache.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	src, err := bundle.Root(wd)
	return src.Root, err
}
