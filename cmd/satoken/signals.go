package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopSignal is why a command's context was cancelled: SIGINT (Ctrl-C) or SIGTERM (how CI
// systems stop a job). Reports record it as their error.
type stopSignal struct{ sig os.Signal }

func (s stopSignal) Error() string {
	if s.sig == syscall.SIGTERM {
		return "terminated"
	}
	return "interrupted"
}

// cleanupLimit bounds the cleanup after a signal: deleting a cluster takes seconds,
// exporting its logs and deleting namespaces of an existing cluster under a minute.
const cleanupLimit = 3 * time.Minute

// signalContext is cancelled, with the stopSignal as its cause, on the first SIGINT or
// SIGTERM; the commands then clean up what they created. A second signal kills at once
// (the default handlers are back), and exit is called when the cleanup outlasts limit.
func signalContext(stderr io.Writer, limit time.Duration, exit func(int)) (context.Context, chan<- os.Signal) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs)
		cause := stopSignal{sig}
		cancel(cause)
		fmt.Fprintf(stderr, "satoken: %s: cleaning up (at most %s; a second signal aborts without cleanup)\n", cause, limit)
		time.AfterFunc(limit, func() {
			fmt.Fprintf(stderr, "satoken: cleanup did not finish within %s; exiting (satoken cluster down, or satoken clean for an existing cluster, removes what is left)\n", limit)
			exit(1)
		})
	}()
	return ctx, sigs
}

// stopReason is what a report records when the command's context was cancelled.
func stopReason(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil {
		return cause.Error()
	}
	return ""
}
