// Command satoken reproduces Kubernetes bound ServiceAccount token expiry on real kind
// clusters and reports, per client, whether it survives token rotation.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// Exit codes shared by every command that judges (run, check, scan, stale): 0 passed,
// 1 harness error or bad input, exitGate broken, exitNotJudged not judged.
const (
	exitGate      = 3 // the evidence shows breakage (or a verdict missed --expect)
	exitNotJudged = 4 // nothing broke, but the evidence could not decide for some client
)

// exitFor is the exit of a decided outcome; why says what broke, could not be judged (and
// what to do), or failed.
func exitFor(o report.Outcome, why []string) error {
	switch o {
	case report.Broken:
		return &exitError{code: exitGate, err: fmt.Errorf("broken: %s", strings.Join(why, "; "))}
	case report.NotJudged:
		return &exitError{code: exitNotJudged, err: fmt.Errorf("not judged (not a pass): %s", strings.Join(why, "; "))}
	case report.Failed:
		return errors.New(strings.Join(why, "; "))
	}
	return nil
}

// printJSON writes v as indented JSON, for the commands' --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exitError carries a specific exit code (e.g. verdict mismatches) up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	// Ctrl-C or SIGTERM cancels the context; every command cleans up what it created
	// before returning.
	ctx, _ := signalContext(os.Stderr, cleanupLimit, os.Exit)
	root := newRootCommand()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	err = asFlagError(err)
	if reason := stopReason(ctx); reason != "" && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%s", reason) // what stopped the command, not "context canceled"
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "satoken:", err) // a judgement, not a harness error
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "satoken: error:", err)
	os.Exit(1)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "satoken",
		Short:         "Reproduce ServiceAccount token expiry (401 Unauthorized) on real kind clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newHostCommand(), newImageCommand(), newClusterCommand(), newAppsCommand(), newRunCommand(), newCheckCommand(), newScanCommand(), newStaleCommand(), newCleanCommand(), newVersionCommand(), newCorpusCommand(), newCrossCheckCommand())
	return root
}
