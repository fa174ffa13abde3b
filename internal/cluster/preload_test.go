package cluster

import (
	"bytes"
	"context"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

func TestContainerdRef(t *testing.T) {
	for local, want := range map[string]string{
		"satoken/probe:v8.0.0": "docker.io/satoken/probe:v8.0.0",
		"busybox:1":            "docker.io/library/busybox:1",
		"localhost:5000/x:y":   "localhost:5000/x:y",
		"quay.io/a/b:c":        "quay.io/a/b:c",
	} {
		got, err := containerdRef(local)
		require.NoError(t, err)
		assert.Equal(t, want, got, local)
	}
}

// fakeNode answers `ctr images list --quiet` with the references it holds.
type fakeNode struct {
	name   string
	images []string
}

func (n fakeNode) String() string                         { return n.name }
func (fakeNode) Role() (string, error)                    { return "control-plane", nil }
func (fakeNode) IP() (string, string, error)              { return "", "", nil }
func (fakeNode) SerialLogs(io.Writer) error               { return nil }
func (n fakeNode) Command(string, ...string) kindexec.Cmd { return &fakeCmd{out: n.images} }
func (n fakeNode) CommandContext(_ context.Context, c string, a ...string) kindexec.Cmd {
	return n.Command(c, a...)
}

type fakeCmd struct {
	out    []string
	stdout io.Writer
}

func (c *fakeCmd) Run() error {
	for _, ref := range c.out {
		if _, err := io.WriteString(c.stdout, ref+"\n"); err != nil {
			return err
		}
	}
	return nil
}
func (c *fakeCmd) SetEnv(...string) kindexec.Cmd      { return c }
func (c *fakeCmd) SetStdin(io.Reader) kindexec.Cmd    { return c }
func (c *fakeCmd) SetStdout(w io.Writer) kindexec.Cmd { c.stdout = w; return c }
func (c *fakeCmd) SetStderr(io.Writer) kindexec.Cmd   { return c }

// The observations that would fool a preload into skipping an import: another node set,
// another image under the same name, an image the node no longer lists.
func TestPreloadedSkipsOnlyWhatIsThere(t *testing.T) {
	a, err := random.Image(256, 1)
	require.NoError(t, err)
	b, err := random.Image(256, 1)
	require.NoError(t, err)
	da, err := a.Digest()
	require.NoError(t, err)
	images := map[string]v1.Image{"satoken/probe:a": a, "satoken/probe:b": b}
	both := []string{"docker.io/satoken/probe:a", "docker.io/satoken/probe:b"}
	p := &preloaded{nodes: []string{"n1"}, digests: map[string]v1.Hash{"satoken/probe:a": da, "satoken/probe:b": da}}

	skip, err := p.skip(images, []nodes.Node{fakeNode{"n1", both}})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"satoken/probe:a": true, "satoken/probe:b": false}, skip, "b's digest differs from what was preloaded")

	skip, err = p.skip(images, []nodes.Node{fakeNode{"n1", both[1:]}})
	require.NoError(t, err)
	assert.False(t, skip["satoken/probe:a"], "the node does not list a any more")

	skip, err = p.skip(images, []nodes.Node{fakeNode{"n1", both}, fakeNode{"n2", both}})
	require.NoError(t, err)
	assert.False(t, skip["satoken/probe:a"], "a node the preload never saw")

	skip, err = (*preloaded)(nil).skip(images, []nodes.Node{fakeNode{"n1", both}})
	require.NoError(t, err)
	assert.Empty(t, skip, "nothing preloaded (anyone's kind cluster)")
}

func TestKindLoggerTimestampsUserFacingLinesOnly(t *testing.T) {
	var out bytes.Buffer
	l := kindLogger{&phase.Recorder{Out: &out, Prefix: "[v1.34.4] "}}
	l.V(0).Infof(" • %s  ...\n", "Starting control-plane")
	l.V(1).Info("debug detail")
	l.Warn("cgroup v1 is deprecated")
	assert.Regexp(t, `^\d\d:\d\d:\d\d \[v1\.34\.4\] kind: • Starting control-plane  \.\.\.\n\d\d:\d\d:\d\d \[v1\.34\.4\] kind: warning: cgroup v1 is deprecated\n$`, out.String())
	assert.False(t, l.V(1).Enabled())
}
