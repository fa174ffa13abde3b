package nodeimage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

// kubeTree writes a minimal k8s.io/kubernetes tree; with staging, a checkout's layout.
func kubeTree(t *testing.T, dir string, staging bool) string {
	t.Helper()
	write(t, filepath.Join(dir, "go.mod"), upstreamGoMod)
	write(t, filepath.Join(dir, "pkg/kubelet/token/token_manager.go"), "package token\n")
	if staging {
		for _, m := range []string{"api", "client-go"} {
			write(t, filepath.Join(dir, "staging/src/k8s.io", m, "go.mod"), "module k8s.io/"+m+"\n")
		}
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestDetectLayout(t *testing.T) {
	ctx := context.Background()
	checkout, err := OpenSource(ctx, kubeTree(t, t.TempDir(), true), "v1.34.4")
	require.NoError(t, err)
	require.True(t, checkout.LocalStaging)
	require.Contains(t, checkout.Kind(), "checkout")

	module, err := OpenSource(ctx, kubeTree(t, t.TempDir(), false), "v1.34.4")
	require.NoError(t, err)
	require.False(t, module.LocalStaging, "a module zip has no staging/")
	require.Contains(t, module.Kind(), "published v0.34.4 tags")

	half := kubeTree(t, t.TempDir(), true)
	require.NoError(t, os.RemoveAll(filepath.Join(half, "staging/src/k8s.io/api")))
	_, err = OpenSource(ctx, half, "v1.34.4")
	require.ErrorContains(t, err, "staging/ is incomplete")

	other := t.TempDir()
	write(t, filepath.Join(other, "go.mod"), "module example.com/other\n")
	_, err = OpenSource(ctx, other, "v1.34.4")
	require.ErrorContains(t, err, "not module k8s.io/kubernetes")

	_, err = OpenSource(ctx, t.TempDir(), "v1.34.4")
	require.ErrorContains(t, err, "not a Kubernetes source tree")
	_, err = OpenSource(ctx, filepath.Join(t.TempDir(), "missing"), "")
	require.ErrorContains(t, err, "not a directory")
}

func TestSourceVersion(t *testing.T) {
	for _, tc := range []struct{ raw, version, release string }{
		{"v1.34.4", "v1.34.4-src", "v1.34.4"}, // a clean checkout at the tag, or a module tree
		{"v1.34.4\n", "v1.34.4-src", "v1.34.4"},
		{"v1.34.4-dirty", "v1.34.4-dirty", "v1.34.4"},
		{"v1.34.4-5-gabc1234", "v1.34.4-5-gabc1234", "v1.34.4"},
		{"v1.34.4-5-gabc1234-dirty", "v1.34.4-5-gabc1234-dirty", "v1.34.4"},
		{"v1.35.0-alpha.1", "v1.35.0-alpha.1-src", "v1.35.0-alpha.1"},
		{"v1.35.0-alpha.1-123-gabcdef0-dirty", "v1.35.0-alpha.1-123-gabcdef0-dirty", "v1.35.0-alpha.1"},
		{"v1.35.0-alpha.1.123+abcdef-dirty", "v1.35.0-alpha.1.123-abcdef-dirty", "v1.35.0-alpha.1"}, // hack/lib/version.sh's form
		{"v1.36.0-rc.0+abc", "v1.36.0-rc.0-abc", "v1.36.0-rc.0"},
		{"v1.34.4-src", "v1.34.4-src", "v1.34.4"},
	} {
		v, r, err := sourceVersion(tc.raw)
		require.NoError(t, err, tc.raw)
		require.Equal(t, tc.version, v, tc.raw)
		require.Equal(t, tc.release, r, tc.raw)
		require.Regexp(t, `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`, v, "a docker tag")
		_, err = stagingVersion(r)
		require.NoError(t, err, "the release names staging tags")
	}
	for _, bad := range []string{"", "1.34.4", "v1.34", "v2.0.0", "latest", "v1.34.4_x", "satoken-v0.3-1-gabc", "v1.34.4-" + strings.Repeat("a", 130)} {
		_, _, err := sourceVersion(bad)
		require.Error(t, err, bad)
	}
}

func TestTreeVersionFromGit(t *testing.T) {
	prereq.Command(t, "git", "the tree version comes from git describe")
	dir := kubeTree(t, t.TempDir(), true)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "one")
	git("tag", "v1.34.4")
	ctx := context.Background()
	version := func() string {
		t.Helper()
		s, err := OpenSource(ctx, dir, "")
		require.NoError(t, err)
		require.Contains(t, s.VersionFrom, "git describe")
		return s.Version
	}
	require.Equal(t, "v1.34.4-src", version())
	write(t, filepath.Join(dir, "pkg/kubelet/token/token_manager.go"), "package token // changed\n")
	require.Equal(t, "v1.34.4-dirty", version())
	git("commit", "-qam", "two")
	require.Regexp(t, `^v1\.34\.4-1-g[0-9a-f]+$`, version())

	s, err := OpenSource(ctx, dir, "v1.35.0-alpha.1.2+abc")
	require.NoError(t, err)
	require.Equal(t, "v1.35.0-alpha.1.2-abc", s.Version, "--k8s-source-version wins")
}

func TestTreeVersionWithoutGit(t *testing.T) {
	ctx := context.Background()
	named := kubeTree(t, filepath.Join(t.TempDir(), "kubernetes@v1.34.4"), false)
	s, err := OpenSource(ctx, named, "")
	require.NoError(t, err)
	require.Equal(t, "v1.34.4-src", s.Version)
	require.Equal(t, "v1.34.4", s.Release)

	saved := publishedGoMod
	t.Cleanup(func() { publishedGoMod = saved })
	published := map[string]string{"k8s.io/kubernetes@v1.34.4": upstreamGoMod}
	publishedGoMod = func(_ context.Context, path, version string) ([]byte, error) {
		if m, ok := published[path+"@"+version]; ok {
			return []byte(m), nil
		}
		return nil, os.ErrNotExist
	}
	copied := kubeTree(t, t.TempDir(), false)
	_, err = OpenSource(ctx, copied, "")
	require.ErrorContains(t, err, "--k8s-source-version", "nothing tells the version")
	require.ErrorContains(t, err, "no CHANGELOG")

	changelog := "<!-- BEGIN MUNGE: GENERATED_TOC -->\n\n- [v1.34.3](#v1343)\n  - [Downloads for v1.34.3](#downloads-for-v1343)\n- [v1.34.2](#v1342)\n"
	write(t, filepath.Join(copied, "CHANGELOG/CHANGELOG-1.33.md"), "- [v1.33.9](#v1339)\n")
	write(t, filepath.Join(copied, "CHANGELOG/CHANGELOG-1.34.md"), changelog)
	s, err = OpenSource(ctx, copied, "")
	require.NoError(t, err)
	require.Equal(t, "v1.34.4-src", s.Version, "the release after the changelog's newest, with the same go.mod")
	require.Contains(t, s.VersionFrom, "CHANGELOG-1.34.md")

	write(t, filepath.Join(copied, "go.mod"), upstreamGoMod+"// edited\n")
	_, err = OpenSource(ctx, copied, "")
	require.ErrorContains(t, err, "go.mod differs")
	s, err = OpenSource(ctx, copied, "v1.34.4")
	require.NoError(t, err, "the flag decides where the tree cannot")
	require.Equal(t, "v1.34.4-src", s.Version)

	write(t, filepath.Join(copied, "CHANGELOG/CHANGELOG-1.34.md"), "- [v1.34.0-rc.1](#v1340-rc1)\n")
	_, err = OpenSource(ctx, copied, "")
	require.ErrorContains(t, err, "not a patch release")
}

func TestHashSource(t *testing.T) {
	dir := kubeTree(t, t.TempDir(), true)
	write(t, filepath.Join(dir, ".git/HEAD"), "ref: refs/heads/main\n")
	hash := func() string {
		t.Helper()
		th, err := hashSource(dir)
		require.NoError(t, err)
		require.Positive(t, th.Files)
		return th.Hash
	}
	h := hash()
	require.Equal(t, h, hash(), "same tree, same hash")
	for _, notInput := range []string{".git/HEAD", ".git/objects/ab/cdef", "_output/bin/kubelet", "vendor/k8s.io/x/x.go", "pkg/kubelet/token/token_manager_test.go"} {
		write(t, filepath.Join(dir, notInput), "changed")
		require.Equal(t, h, hash(), "%s is no build input", notInput)
	}
	write(t, filepath.Join(dir, "pkg/kubelet/token/token_manager.go"), "package token // klog line\n")
	h2 := hash()
	require.NotEqual(t, h, h2, "a changed .go file")
	write(t, filepath.Join(dir, "staging/src/k8s.io/api/types.go"), "package api\n")
	require.NotEqual(t, h2, hash(), "a new staging file")
	require.NoError(t, os.Rename(filepath.Join(dir, "staging/src/k8s.io/api/types.go"), filepath.Join(dir, "staging/src/k8s.io/api/types2.go")))
	require.NotEqual(t, h2, hash(), "a renamed file")
}

func TestBuildModuleFromSource(t *testing.T) {
	for _, local := range []bool{false, true} {
		src := &Source{Dir: "/src/kubernetes", LocalStaging: local, Version: "v1.34.4-src", Release: "v1.34.4"}
		out, err := buildModule([]byte(upstreamGoMod), src.Release, src)
		require.NoError(t, err)
		f, err := modfile.Parse("go.mod", out, nil)
		require.NoError(t, err)
		got := map[string]string{}
		for _, r := range f.Replace {
			got[r.Old.Path] = r.New.Path + "@" + r.New.Version
		}
		want := map[string]string{
			"k8s.io/kubernetes": "/src/kubernetes@",
			"k8s.io/api":        "k8s.io/api@v0.34.4",
			"k8s.io/client-go":  "k8s.io/client-go@v0.34.4",
		}
		if local {
			want["k8s.io/api"] = "/src/kubernetes/staging/src/k8s.io/api@"
			want["k8s.io/client-go"] = "/src/kubernetes/staging/src/k8s.io/client-go@"
		}
		require.Equal(t, want, got, "local staging %v", local)
	}
}

func TestSourceInputs(t *testing.T) {
	release := inputs{KubernetesVersion: "v1.34.4", Packages: []string{"a"}, KindFilesHash: "k"}
	src := release
	src.KubernetesVersion, src.Source, src.SourceRelease = "v1.34.4-src", "abc", "v1.34.4"
	require.NotEqual(t, release.hash(), src.hash())
	edited := src
	edited.Source = "def"
	require.NotEqual(t, src.hash(), edited.hash(), "the tree's content is an input")
	require.Equal(t, release.baseHash(), src.baseHash(), "a source build shares its release's base image")
	require.Equal(t, src.baseHash(), edited.baseHash())
}

func TestVersionLDFlagsDirty(t *testing.T) {
	require.Contains(t, versionLDFlags("v1.34.4-dirty", fixedTime), "gitTreeState=dirty")
	require.Contains(t, versionLDFlags("v1.34.4-dirty", fixedTime), "gitMinor=34")
	require.Contains(t, versionLDFlags("v1.34.4-src", fixedTime), "gitTreeState=clean")
	v, err := stagingVersion("v1.35.0-alpha.1")
	require.NoError(t, err)
	require.Equal(t, "v0.35.0-alpha.1", v)
}
