package nodeimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
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
	out, err := buildModule([]byte(upstreamGoMod), "v1.34.4")
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

	_, err = buildModule([]byte("module k8s.io/kubernetes\n"), "v1.34.4")
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
