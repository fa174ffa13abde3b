package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

const upstreamGoMod = `module k8s.io/kubernetes

go 1.24.0

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	example.com/other => example.com/other v1.2.3
)
`

func TestBuildModuleRepointsStaging(t *testing.T) {
	out, err := buildModule([]byte(upstreamGoMod), "v1.34.4", nil)
	require.NoError(t, err)
	f, err := modfile.Parse("go.mod", out, nil)
	require.NoError(t, err)
	require.Equal(t, "1.24.0", f.Go.Version)
	require.Equal(t, "k8s.io/kubernetes", f.Require[0].Mod.Path)
	require.Equal(t, "v1.34.4", f.Require[0].Mod.Version)
	got := map[string]string{}
	for _, r := range f.Replace {
		got[r.Old.Path] = r.New.Path + "@" + r.New.Version
	}
	require.Equal(t, map[string]string{
		"k8s.io/api":       "k8s.io/api@v0.34.4",
		"k8s.io/client-go": "k8s.io/client-go@v0.34.4",
	}, got, "only ./staging replaces are re-pointed")

	_, err = buildModule([]byte("module k8s.io/kubernetes\n"), "v1.34.4", nil)
	require.ErrorContains(t, err, "no ./staging replaces")
}

func TestStagingVersion(t *testing.T) {
	v, err := stagingVersion("v1.34.4")
	require.NoError(t, err)
	require.Equal(t, "v0.34.4", v)
	for _, bad := range []string{"1.34.4", "v2.0.0", "latest", ""} {
		_, err := stagingVersion(bad)
		require.Error(t, err, bad)
	}
}

var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestVersionLDFlags(t *testing.T) {
	flags := versionLDFlags("v1.34.4", fixedTime)
	require.Contains(t, flags, "-X k8s.io/component-base/version.gitVersion=v1.34.4")
	require.Contains(t, flags, "-X k8s.io/client-go/pkg/version.gitMinor=34")
}

func TestParseKubeadmImages(t *testing.T) {
	im, err := parseKubeadmImages(`registry.k8s.io/kube-apiserver:v1.34.4
registry.k8s.io/kube-controller-manager:v1.34.4
registry.k8s.io/kube-scheduler:v1.34.4
registry.k8s.io/kube-proxy:v1.34.4
registry.k8s.io/coredns/coredns:v1.12.1
registry.k8s.io/pause:3.10.1
registry.k8s.io/etcd:3.6.5-0
`)
	require.NoError(t, err)
	require.Equal(t, "v3.6.5", im.etcdModuleVersion())
	require.Equal(t, "3.10.1", im.Pause.tag())
	require.Len(t, im.Components, 4)
	require.Equal(t, "kube-proxy", im.Components[3].name())

	_, err = parseKubeadmImages("registry.k8s.io/pause:3.10.1\n")
	require.ErrorContains(t, err, "incomplete")
	_, err = parseKubeadmImages("registry.k8s.io/mystery:1\nregistry.k8s.io/pause:3.10.1\n")
	require.ErrorContains(t, err, "does not know how to build")
}

func TestMirrorFromSources(t *testing.T) {
	deb822 := "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
	require.Equal(t, "http://mirror.example/debian", mirrorFromSources(deb822))
	oneLine := "# comment\ndeb http://security.example/debian-security bookworm-security main\ndeb http://m.example/debian bookworm main\n"
	require.Equal(t, "http://m.example/debian", mirrorFromSources(oneLine))
	require.Equal(t, "", mirrorFromSources("deb [signed-by=x] http://m.example/debian bookworm main\n"))
}

func TestInputsHash(t *testing.T) {
	a := inputs{KubernetesVersion: "v1.34.4", Packages: []string{"a"}, KindFilesHash: "k"}
	require.Equal(t, a.hash(), a.hash(), "stable")
	b := a
	b.Workaround = true
	require.NotEqual(t, a.hash(), b.hash(), "the CAP_SYS_RESOURCE workaround changes the image")
	c := a
	c.KubernetesVersion = "v1.34.5"
	require.NotEqual(t, a.hash(), c.hash())
	require.NotEqual(t, a.hash(), a.baseHash(), "base and node images have distinct keys")
	d := a
	d.KindFilesDir = "/elsewhere"
	require.Equal(t, a.hash(), d.hash(), "the module cache location is not an input")
}

func TestHashTree(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644))
	h1, err := hashTree(dir)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644))
	h2, err := hashTree(dir)
	require.NoError(t, err)
	require.NotEqual(t, h1, h2)
}

func TestContainerdConfigEdits(t *testing.T) {
	kindConfig := `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = false
`
	for _, workaround := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "config.toml")
		require.NoError(t, os.WriteFile(path, []byte(kindConfig), 0o644))
		b := &builder{in: Input{SysResourceWorkaround: workaround}, pauseImage: "registry.k8s.io/pause:3.10.1"}
		require.NoError(t, b.containerdConfig(path))
		out, _ := os.ReadFile(path)
		cfg := string(out)
		require.Contains(t, cfg, `sandbox_image = "registry.k8s.io/pause:3.10.1"`)
		require.Equal(t, workaround, strings.Contains(cfg, "restrict_oom_score_adj = true"))
		require.Equal(t, workaround, strings.Contains(cfg, `BinaryName = "/usr/local/bin/runc-nosysresource"`))
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(path, []byte("version = 2\n"), 0o644))
	require.Error(t, (&builder{}).containerdConfig(path), "an unexpected kind config is an error, not a silent no-op")
}

func TestInputsHashOfV134Unchanged(t *testing.T) {
	// The CI cluster's v1.34.4 image must not be rebuilt by the newer-version support:
	// these hashes were computed before it existed.
	in := inputs{BuilderRevision: 5, KubernetesVersion: "v1.34.4", KindVersion: "v0.33.0", KindFilesHash: "abc",
		DebianSuite: "bookworm", Packages: rootfsPackages, CNIConfig: cniConfig, Workaround: true, WrapperHash: "def",
		Containerd: containerdFor("v1.34.4")}
	require.Equal(t, 5, builderRevision)
	require.Equal(t, "de4fb424e094", in.hash())
	require.Equal(t, "7696fee7a38e", in.baseHash())
	in.Containerd = containerdFor("v1.37.2")
	require.NotEqual(t, "de4fb424e094", in.hash(), "a built containerd is an input")
}

func TestVersionChoices(t *testing.T) {
	for _, tc := range []struct {
		version    string
		containerd string
		cgroupV1   bool
		crictl     string
	}{
		{"v1.34.4", "", false, "v1.34.0"},
		{"v1.35.8", "", true, "v1.35.0"},
		{"v1.36.5", builtContainerdVersion, true, "v1.36.0"},
		{"v1.37.2", builtContainerdVersion, true, "v1.37.0"},
	} {
		require.Equal(t, tc.containerd, containerdFor(tc.version), tc.version)
		require.Equal(t, tc.cgroupV1, NeedsCgroupV1Override(tc.version), tc.version)
		require.Equal(t, tc.crictl, crictlCandidates(tc.version)[0], tc.version)
	}
	require.Equal(t, []string{"v1.35.0", "v1.34.0"}, crictlCandidates("v1.35.8"), "v1.35.x is not on the proxy: fall back")
	require.False(t, NeedsCgroupV1Override("latest"))
	require.Equal(t, -1, minorOf("1.35.0"))
}

func TestDefaultVersion(t *testing.T) {
	var logged string
	require.Equal(t, DefaultKubernetesVersion, DefaultVersion(func(f string, a ...any) { logged = fmt.Sprintf(f, a...) }))
	require.Contains(t, logged, "--k8s")
}

// upstreamGoMod136 has the layout of k8s.io/kubernetes v1.36+: more staging modules
// (cri-streaming, streaming) than 1.34's 31.
func upstreamGoMod136(n int) string {
	var sb strings.Builder
	sb.WriteString("module k8s.io/kubernetes\n\ngo 1.26.0\n\nrequire k8s.io/api v0.0.0\n\nreplace (\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "\tk8s.io/staging%02d => ./staging/src/k8s.io/staging%02d\n", i, i)
	}
	sb.WriteString("\tk8s.io/streaming => ./staging/src/k8s.io/streaming\n)\n")
	return sb.String()
}

func TestBuildModuleDerivesReplacesFromGoMod(t *testing.T) {
	out, err := buildModule([]byte(upstreamGoMod136(32)), "v1.37.2", nil)
	require.NoError(t, err)
	f, err := modfile.Parse("go.mod", out, nil)
	require.NoError(t, err)
	require.Equal(t, "1.26.0", f.Go.Version, "the upstream go directive is kept")
	require.Len(t, f.Replace, 33)
	for _, r := range f.Replace {
		require.Equal(t, r.Old.Path, r.New.Path)
		require.Equal(t, "v0.37.2", r.New.Version)
	}
}

func TestContainerd2Build(t *testing.T) {
	require.Equal(t, "module satoken.local/containerdbuild\n\ngo 1.24\n\nrequire github.com/containerd/containerd/v2 v2.3.4\n", string(containerdBuildModule("v2.3.4")))
	flags := containerdLDFlags("v2.3.4")
	require.Contains(t, flags, "-X github.com/containerd/containerd/v2/version.Version=v2.3.4")
	require.Contains(t, containerdBuildTags, "no_btrfs")
}

// kindContainerdConfig is kind's own containerd config (written for containerd 2.x in
// kind v0.33) from the module cache; the test is skipped when the cache lacks it.
func kindContainerdConfig(t *testing.T) []byte {
	_, dir, err := kindFiles(context.Background())
	if err != nil {
		prereq.Missing(t, "kind module not available: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "etc", "containerd", "config.toml"))
	require.NoError(t, err)
	return data
}

func TestContainerdConfigForContainerd2(t *testing.T) {
	kind := kindContainerdConfig(t)
	for _, workaround := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "config.toml")
		require.NoError(t, os.WriteFile(path, kind, 0o644))
		b := &builder{in: Input{SysResourceWorkaround: workaround}, pauseImage: "registry.k8s.io/pause:3.10.2"}
		require.NoError(t, b.containerdConfig(path), "kind's shipped config takes the edits")
		out, _ := os.ReadFile(path)
		require.Contains(t, string(out), `sandbox_image = "registry.k8s.io/pause:3.10.2"`)
		require.Equal(t, workaround, strings.Contains(string(out), `BinaryName = "/usr/local/bin/runc-nosysresource"`))
	}
}

func TestCheckContainerdDump(t *testing.T) {
	// Shape of containerd 2.3.4's `config dump` after migrating kind's version 2 file.
	dump := `version = 4
[plugins]
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = 'registry.k8s.io/pause:3.10.2'
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '/usr/local/bin/runc-nosysresource'
      SystemdCgroup = true
`
	require.NoError(t, checkContainerdDump(dump, "registry.k8s.io/pause:3.10.2", true))
	require.NoError(t, checkContainerdDump(dump, "registry.k8s.io/pause:3.10.2", false))
	require.ErrorContains(t, checkContainerdDump(dump, "registry.k8s.io/pause:3.10.1", false), "pause:3.10.1")
	noWrapper := strings.ReplaceAll(dump, "BinaryName", "#")
	require.ErrorContains(t, checkContainerdDump(noWrapper, "registry.k8s.io/pause:3.10.2", true), "BinaryName")
}

func TestVerifiedVersionsAreBuildable(t *testing.T) {
	require.Contains(t, verified, verifiedVersion{Version: DefaultKubernetesVersion, CgroupV1: true, CgroupV2: true}, "the CI default stays the fallback on both cgroup modes")
	for i, v := range verified {
		require.NoError(t, ValidateVersion(v.Version))
		require.True(t, v.CgroupV1 || v.CgroupV2, v.Version)
		if i > 0 {
			require.Greater(t, minorOf(verified[i-1].Version), minorOf(v.Version), "newest first")
		}
	}
}
