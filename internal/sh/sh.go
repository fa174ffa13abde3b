// Package sh runs host commands with their output attached to an error, so a failed
// docker/go/debootstrap call explains itself without a stack trace.
package sh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Cmd describes one command invocation.
type Cmd struct {
	Name  string
	Args  []string
	Dir   string
	Env   []string // appended to the inherited environment
	Stdin io.Reader
	// Stream, when set, receives combined output as it is produced (long builds).
	Stream io.Writer
}

// Run executes c and returns its stdout. On failure the error carries the tail of stderr.
func Run(ctx context.Context, c Cmd) (string, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.Stream != nil {
		cmd.Stdout = io.MultiWriter(&stdout, c.Stream)
		cmd.Stderr = io.MultiWriter(&stderr, c.Stream)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", c.Name, strings.Join(c.Args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

// Out is Run for a simple command, with surrounding whitespace trimmed from stdout.
func Out(ctx context.Context, name string, args ...string) (string, error) {
	out, err := Run(ctx, Cmd{Name: name, Args: args})
	return strings.TrimSpace(out), err
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
