//go:build e2e

package probes

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// The tests here reach the Go module proxy (and download client-go sources); run with
//
//	go test -tags e2e -run 'Unpinned|FromSource' ./internal/probes

// TestUnpinnedGoBuilds resolves an unpinned client-go on the proxy, generates its module
// files into a scratch cache, and builds the probe with the pinned probes' recipe: the
// binary links exactly that client-go. Generated again into another cache, the module files
// are the same bytes; resolved again into the same cache, they are reused.
func TestUnpinnedGoBuilds(t *testing.T) {
	ctx := context.Background()
	all, err := Load(repoRoot)
	require.NoError(t, err)
	sel, err := Select(all, "v0.16.15")
	require.NoError(t, err)
	resolve := func(cache string) Probe {
		t.Helper()
		out, err := resolveUnpinned(ctx, BuildInput{RepoRoot: repoRoot, Probes: sel, CacheDir: cache, Log: &phase.Recorder{}}, &buildTools{})
		require.NoError(t, err)
		return out[0]
	}
	cache := t.TempDir()
	p := resolve(cache)
	require.Equal(t, "v0.16.15", p.Module)
	require.Equal(t, "1.16", p.K8sRelease)
	// v0.16's List takes no context; its graph selects klog v1.0.0; it has LeaseLock.
	require.Equal(t, []string{"noctx"}, p.Tags)
	require.True(t, strings.HasPrefix(p.dir, filepath.Join(cache, generatedDir)), p.dir)
	reflect2, err := requiredVersion(filepath.Join(p.dir, ModFile), "github.com/modern-go/reflect2")
	require.NoError(t, err)
	require.Equal(t, "v1.0.2", reflect2, "raised to its floor")

	bin := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, goBuild(ctx, repoRoot, p, bin))
	v, err := ClientGoVersion(bin)
	require.NoError(t, err)
	require.Equal(t, p.Module, v)

	again := resolve(cache)
	require.Equal(t, p, again, "reused from the cache")
	other := resolve(t.TempDir())
	for _, f := range []string{ModFile, SumFile} {
		want, err := os.ReadFile(filepath.Join(p.dir, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(other.dir, f))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s generated twice", f)
	}
	h1, err := inputHash(repoRoot, p, "go1.26.8")
	require.NoError(t, err)
	h2, err := inputHash(repoRoot, other, "go1.26.8")
	require.NoError(t, err)
	require.Equal(t, h1, h2, "same inputs, same image")
}

// TestUnpinnedGoRefusals: what the proxy does not serve, and pre-module client-go, are
// refused with the reason, before anything is built.
func TestUnpinnedGoRefusals(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for label, want := range map[string]string{
		"v7.0.0":  "pre-module client-go: its dependencies must be pinned by hand; see apps/probe/versions.json notes (nearest pinned: v8.0.0)",
		"v13.0.0": "as the pseudo-version of their commit",
		"v0.99.0": "the Go module proxy does not serve",
	} {
		sel, err := Select(all, label)
		require.NoError(t, err, label)
		_, err = resolveUnpinned(context.Background(), BuildInput{RepoRoot: repoRoot, Probes: sel, CacheDir: t.TempDir(), Log: &phase.Recorder{}}, &buildTools{})
		require.ErrorContains(t, err, want, label)
	}
}

// TestTagsFromSource: the rules that choose an unpinned version's build tags, applied to
// every pinned version's own source (from the proxy) and pinned module graph, reproduce
// the tags versions.json pins.
func TestTagsFromSource(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for _, p := range OfLanguage(all, LanguageGo) {
		out, err := exec.Command("go", "mod", "download", "-json", clientGoPath+"@"+p.Module).Output()
		require.NoError(t, err, p.Label)
		var m gocmd.Module
		require.NoError(t, json.Unmarshal(out, &m))
		api, err := readClientGoAPI(m.Dir)
		require.NoError(t, err, p.Label)
		klog, err := requiredVersion(filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, ModFile), "k8s.io/klog")
		require.NoError(t, err)
		require.Equal(t, p.Tags, goTags(api, klog), p.Label)
	}
}
