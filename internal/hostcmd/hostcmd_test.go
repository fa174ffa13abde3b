package hostcmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/exec"
)

func TestOutputTrimsStdout(t *testing.T) {
	out, err := Output(exec.CommandContext(context.Background(), "sh", "-c", "echo '  hi  '; echo noise >&2"))
	require.NoError(t, err)
	assert.Equal(t, "hi", out)
}

func TestOutputErrorNamesCommandAndStderrTail(t *testing.T) {
	script := "echo partial; printf 'x%.0s' $(seq 3000) >&2; echo ' the cause' >&2; exit 3"
	out, err := Output(exec.CommandContext(context.Background(), "sh", "-c", script))
	require.Error(t, err)
	assert.Equal(t, "partial", out)
	prefix := "sh -c " + script + ": exit status 3: …"
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, prefix), msg)
	stderr := strings.TrimPrefix(msg, prefix)
	assert.Len(t, stderr, 2000, "the tail of stderr")
	assert.True(t, strings.HasSuffix(stderr, "x the cause"), stderr)
	var exit interface{ ExitCode() int }
	require.True(t, errors.As(err, &exit))
	assert.Equal(t, 3, exit.ExitCode())
}

func TestOutputStreamsToWritersSetBefore(t *testing.T) {
	var live bytes.Buffer
	cmd := exec.CommandContext(context.Background(), "sh", "-c", "echo out; echo err >&2")
	out, err := Output(cmd.SetStdout(&live).SetStderr(&live))
	require.NoError(t, err)
	assert.Equal(t, "out", out)
	assert.Contains(t, live.String(), "out\n")
	assert.Contains(t, live.String(), "err\n")
}

func TestInDirAddsToTheInheritedEnvironment(t *testing.T) {
	t.Setenv("HOSTCMD_INHERITED", "kept")
	dir := t.TempDir()
	out, err := Output(InDir(exec.CommandContext(context.Background(), "sh", "-c", `echo "$HOSTCMD_INHERITED $HOSTCMD_ADDED $PWD"; pwd -P`), dir, "HOSTCMD_ADDED=added"))
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	assert.Equal(t, "kept added "+dir+"\n"+real, out)
}

func TestOutputCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Output(exec.CommandContext(ctx, "sleep", "10"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "sleep 10: "), err.Error())
}

// fakeCmd is a command that does not run on the host (as a node's or a test's).
type fakeCmd struct{ ran bool }

func (f *fakeCmd) Run() error                   { f.ran = true; return nil }
func (f *fakeCmd) SetEnv(...string) exec.Cmd    { return f }
func (f *fakeCmd) SetStdin(io.Reader) exec.Cmd  { return f }
func (f *fakeCmd) SetStdout(io.Writer) exec.Cmd { return f }
func (f *fakeCmd) SetStderr(io.Writer) exec.Cmd { return f }

// TestInDirRefusesANonLocalCommand: InDir on a command that does not run on this host
// returns one that fails with an error saying so, instead of panicking.
func TestInDirRefusesANonLocalCommand(t *testing.T) {
	f := &fakeCmd{}
	_, err := Output(InDir(f, "/src"))
	require.ErrorContains(t, err, "does not run on this host")
	assert.False(t, f.ran)
}
