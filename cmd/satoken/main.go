// Command satoken reproduces Kubernetes bound ServiceAccount token expiry on real kind
// clusters and reports, per client, whether it survives token rotation.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code (e.g. verdict mismatches) up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	// Ctrl-C cancels the context; every command cleans up what it created before returning.
	// Only a signal cancels ctx (stop is never deferred), so the message below is true.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
		fmt.Fprintln(os.Stderr, "satoken: interrupted: cleaning up (Ctrl-C again to abort without cleanup)")
	}()
	root := newRootCommand()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "satoken: error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "satoken",
		Short:         "Reproduce ServiceAccount token expiry (401 Unauthorized) on real kind clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newHostCommand(), newImageCommand(), newClusterCommand(), newAppsCommand(), newRunCommand(), newCheckCommand(), newScanCommand(), newStaleCommand())
	return root
}
