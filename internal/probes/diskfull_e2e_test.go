//go:build e2e

package probes

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// TestDiskFullLeavesNothingTrusted builds a probe into a cache on a 4 MB tmpfs (the
// binary needs ~16 MB): the build fails with an error naming the path and the full
// disk, leaves no file a later build would take for the binary and no new image; once
// there is room, the same cache builds it anew. Needs root (mount) and docker.
//
//	go test -tags e2e -run TestDiskFullLeavesNothingTrusted ./internal/probes
func TestDiskFullLeavesNothingTrusted(t *testing.T) {
	ctx := context.Background()
	cacheDir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", cacheDir).CombinedOutput(); err != nil {
		t.Fatalf("mount a 4 MB tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", cacheDir).Run() })
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	all, err := Load(root)
	require.NoError(t, err)
	probe, err := Select(all, "v8.0.0")
	require.NoError(t, err)
	image := ImageName("v8.0.0")
	before, _ := docker.ImageLabel(ctx, image, docker.InputsLabel)

	in := BuildInput{RepoRoot: root, Probes: probe, CacheDir: cacheDir, Log: &phase.Recorder{Out: os.Stderr}}
	_, err = Build(ctx, in)
	require.Error(t, err)
	require.ErrorContains(t, err, "no space left on device")
	require.ErrorContains(t, err, cacheDir, "the error names the path")
	var left []string
	require.NoError(t, filepath.WalkDir(cacheDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, path)
		}
		return err
	}))
	require.Empty(t, left, "no half-written binary left in the cache")
	after, _ := docker.ImageLabel(ctx, image, docker.InputsLabel)
	require.Equal(t, before, after, "the image was not replaced")

	require.NoError(t, exec.Command("mount", "-o", "remount,size=64m", cacheDir).Run())
	built, err := Build(ctx, in)
	require.NoError(t, err, "with room, the same cache builds the probe")
	v, err := ClientGoVersion(built[0].Binary)
	require.NoError(t, err)
	require.Equal(t, probe[0].Module, v)
}
