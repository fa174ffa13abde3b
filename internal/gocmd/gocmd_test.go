package gocmd

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutsideIsInNoModule: a command run Outside sees no go.mod (a checkout's would pin
// what a module query answers), and runs with the environment it was given.
func TestOutsideIsInNoModule(t *testing.T) {
	ctx := context.Background()
	out, err := Run(ctx, Outside(), Resolve, "env", "GOMOD", "GOWORK", "GOFLAGS", "GOTOOLCHAIN")
	require.NoError(t, err)
	assert.Equal(t, []string{"/dev/null", "off", "-mod=mod", "local"}, strings.Split(out, "\n"))

	out, err = Run(ctx, "..", Pinned, "env", "GOMOD", "CGO_ENABLED", "GOFLAGS")
	require.NoError(t, err)
	lines := strings.Split(out, "\n")
	assert.True(t, strings.HasSuffix(lines[0], "/go.mod"), "inside the checkout: %s", lines[0])
	assert.Equal(t, []string{"0", "-mod=readonly"}, lines[1:])
}

// TestRunFailureNamesTheCommand: a failed go command says which and why.
func TestRunFailureNamesTheCommand(t *testing.T) {
	_, err := Run(context.Background(), Outside(), Resolve, "no-such-subcommand")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "go no-such-subcommand")
	assert.Contains(t, err.Error(), "unknown command")
}

func TestVersionIsTheLocalToolchain(t *testing.T) {
	v, err := Version(context.Background())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(v, "go1."), v)
}

// TestDownloadSaysWhyItFailed: the go command's own reason for refusing a module (in its
// JSON, with a failed exit) is the error.
func TestDownloadSaysWhyItFailed(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	_, err := Download(context.Background(), Outside(), "example.invalid/nothing", "v1.0.0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "go example.invalid/nothing@v1.0.0: ")
	assert.Contains(t, err.Error(), "GOPROXY=off")
}
