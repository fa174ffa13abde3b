//go:build e2e

package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

// TestDeleteInAnotherCreatesWindow puts one session's cluster delete exactly into the
// window of the kind network race, which concurrent cycles hit only by chance: another
// session's create has been given kind's shared "kind" network (kind makes it when it is
// missing) and has not started its node yet. A docker shim first in PATH holds kind's
// `docker run` of the node until the delete is done. Deleting the network there ("no
// container is attached") made the create fail with "network kind not found" and need
// Up's retry; the create must now succeed on its first try.
//
//	go test -tags e2e -run TestDeleteInAnotherCreatesWindow ./internal/cluster
func TestDeleteInAnotherCreatesWindow(t *testing.T) {
	ctx := context.Background()
	image := nodeimage.ImageName(nodeimage.DefaultKubernetesVersion)
	if !docker.ImageExists(ctx, image) {
		prereq.Missing(t, "no node image %s (satoken image build makes one)", image)
	}
	realDocker, err := exec.LookPath("docker")
	require.NoError(t, err)
	shims := t.TempDir()
	held, released := filepath.Join(shims, "held"), filepath.Join(shims, "released")
	shim := fmt.Sprintf(`#!/bin/sh
if [ "$1" = run ]; then
  touch %[1]q
  i=0; while [ ! -e %[2]q ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
fi
exec %[3]q "$@"
`, held, released, realDocker)
	require.NoError(t, os.WriteFile(filepath.Join(shims, "docker"), []byte(shim), 0o755))
	t.Setenv("PATH", shims+string(os.PathListSeparator)+os.Getenv("PATH"))

	creating, err := harness.ClusterOptions("../..", "satoken-race-create")
	require.NoError(t, err)
	creating.NodeImage = image
	deleting, err := harness.ClusterOptions("../..", "satoken-race-delete")
	require.NoError(t, err)

	var log bytes.Buffer
	type result struct {
		c   *cluster.Cluster
		err error
	}
	created := make(chan result, 1)
	go func() {
		c, err := cluster.Up(ctx, creating, &phase.Recorder{Out: &log})
		created <- result{c, err}
	}()
	t.Cleanup(func() { _ = cluster.Down(creating) })

	window := time.After(3 * time.Minute)
	for _, err := os.Stat(held); err != nil; _, err = os.Stat(held) {
		select {
		case r := <-created:
			t.Fatalf("the create ended before it started its node: %v\n%s", r.err, log.String())
		case <-window:
			t.Fatalf("kind did not start its node within 3 minutes:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	attached, err := hostcmd.Output(kindexec.CommandContext(ctx, "docker", "network", "inspect", "kind", "--format", "{{len .Containers}}"))
	require.NoError(t, err, "kind made its network before starting the node")
	if attached != "0" {
		prereq.Missing(t, "%s container(s) of another cluster use the kind network: the race's window (no container attached) cannot be made here", attached)
	}

	require.NoError(t, cluster.Down(deleting), "the other session's delete")
	require.NoError(t, os.WriteFile(released, nil, 0o644))

	r := <-created
	require.NoError(t, r.err, "the create whose window the delete fell into:\n%s", log.String())
	assert.NotContains(t, log.String(), "retrying", "the create needed its retry")
	require.NoError(t, r.c.Down())
}
