//go:build e2e

package docker

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

// TestContainerCommit drives the node image builder's container steps against the local
// engine: a work container of the node base image is started (replacing a leftover of the
// same name), a command runs in it, it is committed with a label, and everything is
// removed again.
//
//	go test -tags e2e -run TestContainerCommit ./internal/docker
func TestContainerCommit(t *testing.T) {
	ctx := context.Background()
	bases := Tags(ctx, "satoken/kind-base")
	if len(bases) == 0 {
		prereq.Missing(t, "no satoken/kind-base image (satoken image build makes one)")
	}
	c := Container{Name: "satoken-docker-test", Image: bases[0], Mounts: []string{t.TempDir() + ":/work:ro"}}
	require.NoError(t, c.Start(ctx))
	require.NoError(t, c.Start(ctx), "a leftover of the same name is replaced")
	t.Cleanup(func() { RemoveContainer(ctx, c.Name) })
	out, err := c.Exec(ctx, "sh", "-c", "echo made > /made && cat /made && test -d /work")
	require.NoError(t, err)
	require.Equal(t, "made", out)
	const image = "satoken/docker-test:commit"
	require.NoError(t, c.Commit(ctx, image, "LABEL "+InputsLabel+"=abc", `CMD []`))
	t.Cleanup(func() { Remove(ctx, image) })
	require.True(t, UpToDate(ctx, image, "abc"), "the committed image carries its label")
	Remove(ctx, image)
	require.False(t, ImageExists(ctx, image))
}
