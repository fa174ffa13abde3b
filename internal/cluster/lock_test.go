package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// TestLockRefusesASecondHolder: a second claim on a cluster in use fails and names the
// holder; once released, the cluster can be claimed again.
func TestLockRefusesASecondHolder(t *testing.T) {
	o := Options{Name: "one", StateDir: filepath.Join(t.TempDir(), "one")}
	first, err := o.acquire()
	require.NoError(t, err)
	_, err = o.acquire() // a separate open file: flock conflicts as with another process
	require.ErrorContains(t, err, fmt.Sprintf("in use by another satoken process (pid %d)", os.Getpid()))
	require.ErrorContains(t, Down(o), "in use", "down refuses a cluster in use")

	other := Options{Name: "two", StateDir: filepath.Join(filepath.Dir(o.StateDir), "two")}
	l, err := other.acquire()
	require.NoError(t, err, "another cluster is free")
	l.release()

	first.release()
	again, err := o.acquire()
	require.NoError(t, err)
	again.release()
}

// TestUpReleasesTheLockOnEarlyErrors: a create that fails before kind ran (here: no audit
// policy among the fixtures, or no container engine to list clusters with) leaves the
// cluster free for the next session.
func TestUpReleasesTheLockOnEarlyErrors(t *testing.T) {
	o := Options{Name: "early", StateDir: filepath.Join(t.TempDir(), "early"), FixturesDir: t.TempDir(),
		MaxTokenExpiration: MinMaxTokenExpiration, NodeImage: "satoken/kind-node:none"}
	_, err := Up(context.Background(), o, &phase.Recorder{Out: io.Discard})
	require.Error(t, err)
	l, err := o.acquire()
	require.NoError(t, err, "the failed Up released its lock")
	l.release()
}
