package probes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// A label the matrix does not pin is a version to build on demand when the label alone
// says so; what it cannot be is refused with the reason, offline.
func TestUnpinned(t *testing.T) {
	for label, want := range map[string]Probe{
		"v0.16.15": {Label: "v0.16.15", Module: "v0.16.15", Language: LanguageGo, K8sRelease: "1.16", Unpinned: true},
		// A pseudo-version after a tag belongs to that tag's release; a date-only one says none.
		"v0.16.16-0.20201010101010-abcdefabcdef": {Label: "v0.16.16-0.20201010101010-abcdefabcdef", Module: "v0.16.16-0.20201010101010-abcdefabcdef", Language: LanguageGo, K8sRelease: "1.16", Unpinned: true},
		"v0.0.0-20190918160344-1fbdaa4c8d90":     {Label: "v0.0.0-20190918160344-1fbdaa4c8d90", Module: "v0.0.0-20190918160344-1fbdaa4c8d90", Language: LanguageGo, Unpinned: true},
		"js-0.16.3":                              {Label: "js-0.16.3", Module: "@kubernetes/client-node@0.16.3", Language: LanguageJS, Adapter: "request", Unpinned: true},
		"js-1.0.0-rc2":                           {Label: "js-1.0.0-rc2", Module: "@kubernetes/client-node@1.0.0-rc2", Language: LanguageJS, Adapter: "fetch", Unpinned: true},
	} {
		got, err := unpinned(label)
		require.NoError(t, err, label)
		assert.Equal(t, want, got, label)
	}
	for label, why := range map[string]string{
		"js-2.0.1":       "needs Node.js >= 22.19",
		"js-3.0.0":       "client-node 3.x: no adapter for its API era",
		"js-0.16":        "exact @kubernetes/client-node version",
		"js-v0.16.3":     "exact @kubernetes/client-node version",
		"v0.16":          "exact k8s.io/client-go module version",
		"v0.16.15+build": "not a label",
		"0.16.15":        "exact k8s.io/client-go module version",
		"latest":         "exact k8s.io/client-go module version",
		"nope":           "exact k8s.io/client-go module version",
		"":               "not a label",
		"v0.0.0-20190918160344-1fbdaa4c8d90.and-more-text-to-pass-the-limit": "at most 55 characters",
		"v0.16.15/x": "not a label",
	} {
		_, err := unpinned(label)
		assert.ErrorContains(t, err, why, label)
	}
}

// Select builds what the matrix does not pin on demand, and a pinned probe's module
// version picks that probe rather than a second build of the same client-go.
func TestSelectUnpinned(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	got, err := Select(all, "v0.16.15, js-0.16.3,v0.0.0-20190620085101-78d2af792bab,v8.0.0+incompatible,v0.37.2")
	require.NoError(t, err)
	var labels []string
	for _, p := range got {
		labels = append(labels, p.Label)
	}
	require.Equal(t, []string{"v0.16.15", "js-0.16.3", "v12.0.0", "v8.0.0", "v0.37.2"}, labels)
	require.True(t, got[0].Unpinned && got[1].Unpinned)
	require.False(t, got[2].Unpinned || got[3].Unpinned || got[4].Unpinned)
	_, err = Select(all, "v0.37.2,js-2.0.1")
	require.ErrorContains(t, err, `probe "js-2.0.1": client-node 2.x sends through undici 8`)
	require.ErrorContains(t, err, "pinned: all, go, js, v8.0.0")
}

// The build tags follow what the probe's files need from a client-go: a context-taking
// List, the Lease lock, klog logging to stderr.
func TestGoTags(t *testing.T) {
	for name, c := range map[string]struct {
		api  clientGoAPI
		klog string
		want []string
	}{
		"v0.18+":              {clientGoAPI{listContext: true, leaseLock: true}, "v1.0.0", []string{}},
		"no klog in graph":    {clientGoAPI{listContext: true, leaseLock: true}, "", []string{}},
		"v0.17":               {clientGoAPI{leaseLock: true}, "v1.0.0", []string{"noctx"}},
		"v0.15":               {clientGoAPI{leaseLock: true}, "v0.3.1", []string{"noctx", "klog"}},
		"klog pseudo-version": {clientGoAPI{leaseLock: true}, "v0.0.0-20190306015804-8e90cee79f82", []string{"noctx", "klog"}},
		"klog pre-release":    {clientGoAPI{leaseLock: true}, "v1.0.0-rc.1", []string{"noctx", "klog"}},
		"v10":                 {clientGoAPI{}, "v0.0.0-20181108234604-8139d8cb77af", []string{"noctx", "klog", "nolease"}},
		"v8":                  {clientGoAPI{}, "v1.0.0", []string{"noctx", "nolease"}},
	} {
		assert.Equal(t, c.want, goTags(c.api, c.klog), name)
	}
}

// The klog rule on every pinned version's module graph gives the klog tag versions.json
// pins (the rules on their client-go sources: TestTagsFromSource, -tags e2e).
func TestGoTagsKlogOfPinnedGraphs(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for _, p := range OfLanguage(all, LanguageGo) {
		klog, err := requiredVersion(filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, ModFile), "k8s.io/klog")
		require.NoError(t, err)
		require.NotEmpty(t, klog, "%s: go mod tidy sees klog.go, so every module file requires k8s.io/klog", p.Label)
		tags := goTags(clientGoAPI{listContext: true, leaseLock: true}, klog)
		assert.Equal(t, strings.Contains(strings.Join(p.Tags, ","), "klog"), len(tags) > 0, "%s: klog %s, pinned tags %v", p.Label, klog, p.Tags)
	}
}

// writeTree writes files (slash paths → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	return dir
}

const (
	podCtx = `package v1
import ("context"; metav1 "k8s.io/apimachinery/pkg/apis/meta/v1")
type PodInterface interface {
	Create(ctx context.Context, pod *Pod) (*Pod, error)
	List(ctx context.Context, opts metav1.ListOptions) (*PodList, error)
}
`
	// The API before v0.18, beside what could fool a text search: a comment and another
	// interface's List taking a context.
	podNoCtx = `package v1
import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
// List(ctx context.Context, opts metav1.ListOptions) comes with v0.18.
type PodInterface interface {
	List(opts metav1.ListOptions) (*PodList, error)
}
type PodExpansion interface {
	List(ctx context.Context, opts metav1.ListOptions) (*PodList, error)
}
`
	leaseLock = "package resourcelock\ntype LeaseLock struct{}\n"
)

func TestReadClientGoAPI(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		want  clientGoAPI
	}{
		"v0.18+": {map[string]string{podClientFile: podCtx, resourceLock + "/leaselock.go": leaseLock}, clientGoAPI{listContext: true, leaseLock: true}},
		"v0.17":  {map[string]string{podClientFile: podNoCtx, resourceLock + "/leaselock.go": leaseLock}, clientGoAPI{leaseLock: true}},
		"LeaseLock only in a test": {map[string]string{podClientFile: podNoCtx, resourceLock + "/interface.go": "package resourcelock\n",
			resourceLock + "/leaselock_test.go": leaseLock}, clientGoAPI{}},
		"no leaderelection": {map[string]string{podClientFile: podNoCtx}, clientGoAPI{}},
		"context aliased away": {map[string]string{podClientFile: strings.ReplaceAll(podCtx, "ctx context.Context", "ctx ctxpkg.Context")},
			clientGoAPI{}},
	} {
		got, err := readClientGoAPI(writeTree(t, c.files))
		require.NoError(t, err, name)
		assert.Equal(t, c.want, got, name)
	}
	// A tree without the typed Pods client is not one the probe can be built against.
	_, err := readClientGoAPI(writeTree(t, map[string]string{"go.mod": "module k8s.io/client-go\n"}))
	require.Error(t, err)
	_, err = readClientGoAPI(writeTree(t, map[string]string{podClientFile: "package v1\ntype PodInterface interface{ Get() }\n"}))
	require.ErrorContains(t, err, "no PodInterface.List")
}

// Pre-module client-go is told by what the proxy serves: a +incompatible version, or a
// go.mod that requires nothing (synthesized for a commit without one).
func TestPreModule(t *testing.T) {
	modern := "module k8s.io/client-go\n\ngo 1.12\n\nrequire k8s.io/api v0.16.15\n"
	for name, c := range map[string]struct {
		version, goMod string
		want           bool
	}{
		"tag without go.mod":          {"v10.0.0+incompatible", "module k8s.io/client-go\n", true},
		"pseudo-version, no go.mod":   {"v0.0.0-20180101000000-abcdefabcdef", "module k8s.io/client-go\n", true},
		"module era":                  {"v0.16.15", modern, false},
		"module-era pseudo-version":   {"v0.0.0-20190918160344-1fbdaa4c8d90", modern, false},
		"+incompatible with requires": {"v10.0.0+incompatible", modern, true},
	} {
		assert.Equal(t, c.want, preModule(c.version, []byte(c.goMod)), name)
	}
}

func TestPreModuleError(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	pinned := OfLanguage(all, LanguageGo)
	for version, near := range map[string]string{
		"v7.0.0+incompatible":          "v8.0.0)",
		"v10.0.0-beta.0+incompatible":  "v9.0.0, v10.0.0)",
		"v11.0.1-beta.0+incompatible":  "v11.0.0)",
		"v0.0.0-20180101000000-abcdef": "v8.0.0, v9.0.0, v10.0.0, v11.0.0)",
	} {
		err := preModuleError(version, pinned)
		require.ErrorContains(t, err, "pre-module client-go: its dependencies must be pinned by hand; see apps/probe/versions.json notes (nearest pinned: "+near, version)
	}
}

func TestMajorTagHint(t *testing.T) {
	assert.Contains(t, majorTagHint("v13.0.0"), "pseudo-version of their commit")
	for _, v := range []string{"v0.99.0", "v9.9.9", "v12.0.0+incompatible"} {
		assert.Empty(t, majorTagHint(v), v)
	}
}

func TestRaiseFloors(t *testing.T) {
	mod := func(reflect2 string) string {
		return "module m\n\ngo 1.26.0\n\nrequire (\n\tk8s.io/client-go v0.16.15\n\tgithub.com/modern-go/reflect2 " + reflect2 + " // indirect\n)\n"
	}
	out, changed, err := raiseFloors([]byte(mod("v1.0.1")))
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, mod("v1.0.2"), string(out), "raised in place, still indirect")
	for _, v := range []string{"v1.0.2", "v1.0.3-0.20250322232337-35a7c28c31ee"} {
		out, changed, err := raiseFloors([]byte(mod(v)))
		require.NoError(t, err)
		require.False(t, changed, v)
		require.Equal(t, mod(v), string(out))
	}
	// A floor is no requirement: a graph without the module does not get it.
	plain := "module m\n\ngo 1.26.0\n\nrequire k8s.io/client-go v0.37.2\n"
	out, changed, err = raiseFloors([]byte(plain))
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, plain, string(out))
}

// Every pinned module file is at or above the floors: the floors only repeat their bumps.
func TestPinnedModuleFilesAboveFloors(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for _, p := range OfLanguage(all, LanguageGo) {
		data, err := os.ReadFile(filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, ModFile))
		require.NoError(t, err)
		_, changed, err := raiseFloors(data)
		require.NoError(t, err)
		assert.False(t, changed, p.Label)
	}
}

// The seed of a generated module file is the newest pinned one's module and go lines, the
// same bytes every time.
func TestSeedBase(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	pinned := OfLanguage(all, LanguageGo)
	seed, err := seedBase(repoRoot, pinned)
	require.NoError(t, err)
	newest := readModFile(t, filepath.Join(repoRoot, ProbeDir, versionsDir, pinned[len(pinned)-1].Label, ModFile))
	require.Equal(t, "module "+newest.Module.Mod.Path+"\n\ngo "+newest.Go.Version+"\n", string(seed))
}

// The Kubernetes release of a version comes from the version itself: it gives every
// pinned version's k8sRelease.
func TestK8sReleaseOfPinned(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for _, p := range OfLanguage(all, LanguageGo) {
		q, err := unpinned(strings.TrimSuffix(p.Label, "+incompatible"))
		require.NoError(t, err, p.Label)
		assert.Equal(t, p.K8sRelease, q.K8sRelease, p.Label)
	}
}

// The adapter rule gives every pinned version's adapter, and a generated package.json is
// byte for byte a pinned one.
func TestJSRulesReproducePinned(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	for _, p := range OfLanguage(all, LanguageJS) {
		adapter, err := jsAdapterFor(p.LibraryVersion())
		require.NoError(t, err, p.Label)
		assert.Equal(t, p.Adapter, adapter, p.Label)
		want, err := os.ReadFile(filepath.Join(repoRoot, JSProbeDir, versionsDir, p.Label, PackageFile))
		require.NoError(t, err)
		got, err := packageJSON(p.LibraryVersion())
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), p.Label)
	}
}

// A lockfile whose client-node sends through another HTTP library than its adapter's era
// is refused: the probe would not see its requests.
func TestCheckNPMFilesAdapterLibrary(t *testing.T) {
	files := npmFiles("js-0.16.3", "0.16.3", "0.16.3", true) // depends on request
	dir := filepath.Join(writeJSMatrix(t, `[]`, files), JSProbeDir, versionsDir, "js-0.16.3")
	require.NoError(t, checkNPMFiles(dir, "0.16.3", "request"))
	require.ErrorContains(t, checkNPMFiles(dir, "0.16.3", "fetch"), `does not depend on the HTTP library of the "fetch" adapter's era`)
	require.ErrorContains(t, checkNPMFiles(dir, "0.16.3", "undici"), `"undici" adapter`)
}

// Generated files are made once, in a directory renamed into place: a failed generation
// leaves nothing that looks cached.
func TestGenerated(t *testing.T) {
	in := BuildInput{CacheDir: t.TempDir(), Log: &phase.Recorder{}}
	calls := 0
	gen := func(fail bool) func(string) error {
		return func(dir string) error {
			calls++
			if err := os.WriteFile(filepath.Join(dir, ModFile), []byte("mod"), 0o644); err != nil {
				return err
			}
			if fail {
				return errors.New("tidy failed")
			}
			return os.WriteFile(filepath.Join(dir, SumFile), []byte("sum"), 0o644)
		}
	}
	files := []string{ModFile, SumFile}
	_, _, err := generated(in, "v0.16.15", "k1", files, gen(true))
	require.ErrorContains(t, err, "tidy failed")
	entries, err := os.ReadDir(filepath.Join(in.CacheDir, generatedDir))
	require.NoError(t, err)
	require.Empty(t, entries, "nothing left of a failed generation")

	dir, cached, err := generated(in, "v0.16.15", "k1", files, gen(false))
	require.NoError(t, err)
	require.False(t, cached)
	require.Equal(t, filepath.Join(in.CacheDir, generatedDir, "v0.16.15-k1"), dir)
	again, cached, err := generated(in, "v0.16.15", "k1", files, gen(false))
	require.NoError(t, err)
	require.True(t, cached)
	require.Equal(t, dir, again)
	require.Equal(t, 2, calls)
	_, cached, err = generated(in, "v0.16.15", "k2", files, gen(false))
	require.NoError(t, err)
	require.False(t, cached, "other inputs, other files")
}

// A generated probe hashes its generated files under the pinned names: the same files give
// the pinned hash, other content another.
func TestInputHashOfGeneratedFiles(t *testing.T) {
	root := writeMatrix(t, `[]`, "v0.16.15")
	require.NoError(t, os.WriteFile(filepath.Join(root, ProbeDir, "main.go"), []byte("package main\n"), 0o644))
	pinned := Probe{Label: "v0.16.15", Module: "v0.16.15", Tags: []string{"noctx"}}
	gen := pinned
	gen.Unpinned = true
	gen.dir = writeTree(t, map[string]string{ModFile: "v0.16.15 " + ModFile + "\n", SumFile: "v0.16.15 " + SumFile + "\n"})
	want, err := inputHash(root, pinned, "go1.26.8")
	require.NoError(t, err)
	got, err := inputHash(root, gen, "go1.26.8")
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.NoError(t, os.WriteFile(filepath.Join(gen.dir, SumFile), []byte("other\n"), 0o644))
	got, err = inputHash(root, gen, "go1.26.8")
	require.NoError(t, err)
	require.NotEqual(t, want, got)
}

// The exports check loads a client-node through the probe's own adapter and names what
// the adapter calls that it lacks.
func TestCheckExports(t *testing.T) {
	nodeOrSkip(t)
	adapters, err := os.ReadFile(filepath.Join(repoRoot, JSProbeDir, "adapters", "request.js"))
	require.NoError(t, err)
	app := func(index string) string {
		return writeTree(t, map[string]string{
			"adapters/request.js":                               string(adapters),
			"node_modules/@kubernetes/client-node/package.json": `{"name":"@kubernetes/client-node","version":"0.5.2","main":"index.js"}`,
			"node_modules/@kubernetes/client-node/index.js":     index,
		})
	}
	p := Probe{Module: "@kubernetes/client-node@0.5.2", Adapter: "request"}
	complete := `class KubeConfig { loadFromCluster() {} makeApiClient() {} }
class CoreV1Api { listNamespacedPod() {} }
module.exports = { KubeConfig, CoreV1Api };`
	require.NoError(t, checkExports(context.Background(), t.TempDir(), app(complete), p))
	old := `class KubeConfig { loadFromCluster() {} }
class Core_v1Api { listNamespacedPod() {} }
module.exports = { KubeConfig, Core_v1Api };`
	err = checkExports(context.Background(), t.TempDir(), app(old), p)
	require.ErrorContains(t, err, "it has no KubeConfig.makeApiClient, CoreV1Api.listNamespacedPod")
	err = checkExports(context.Background(), t.TempDir(), app(`throw new Error('needs a newer node');`), p)
	require.ErrorContains(t, err, "it does not load: needs a newer node")
}
