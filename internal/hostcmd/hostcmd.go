// Package hostcmd runs the host's command-line tools: commands are kind's pkg/exec
// commands, and Output runs one so that a failure explains itself without a stack trace.
// Each tool has one package that starts it (docker: internal/docker, the go command:
// internal/gocmd; TestOneBoundaryPerTool keeps it so); the tools only the node image
// builder or the JavaScript probes use (debootstrap, chroot, gcc, npm) stay in those.
package hostcmd

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"
)

// stderrTail is how much of a failed command's stderr its error carries.
const stderrTail = 2000

// Output runs cmd and returns its stdout with surrounding whitespace trimmed. On failure
// the error names the command line and carries the tail of its stderr. Writers set on cmd
// before (SetStdout/SetStderr, e.g. one writer for both to stream a long build's output)
// still receive the output as it is produced.
func Output(cmd exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	var streamOut, streamErr io.Writer
	if lc, ok := cmd.(*exec.LocalCmd); ok {
		streamOut, streamErr = lc.Stdout, lc.Stderr
	}
	cmd.SetStdout(tee(&stdout, streamOut)).SetStderr(tee(&stderr, streamErr))
	err := cmd.Run()
	if rerr := exec.RunErrorForError(err); rerr != nil {
		// Drop kind's stack-carrying wrapper; keep the command line and the cause.
		err = fmt.Errorf("%s: %w: %s", strings.Join(rerr.Command, " "), rerr.Inner, tail(stderr.String(), stderrTail))
	}
	return strings.TrimSpace(stdout.String()), err
}

// InDir makes cmd (from exec.Command or exec.CommandContext) run in dir with env added to
// the inherited environment (and PWD naming dir, as os/exec sets it): kind's Cmd has no
// directory setter, and its SetEnv replaces the environment.
func InDir(cmd exec.Cmd, dir string, env ...string) exec.Cmd {
	lc, ok := cmd.(*exec.LocalCmd)
	if !ok { // a command run elsewhere (a node, a fake) has no host directory
		return refused{cmd, fmt.Errorf("hostcmd.InDir %s: a %T does not run on this host", dir, cmd)}
	}
	lc.Dir = dir
	return lc.SetEnv(append(lc.Environ(), env...)...)
}

// refused is a command that fails when run, saying why.
type refused struct {
	exec.Cmd
	err error
}

func (r refused) Run() error { return r.err }

func tee(buf *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
