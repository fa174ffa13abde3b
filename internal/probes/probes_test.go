package probes

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/satoken-e2e/satoken-e2e/internal/bundle"
)

const repoRoot = "../.."

func TestLoadMatrix(t *testing.T) {
	all, err := Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("matrix has %d entries", len(all))
	}
	for _, p := range all {
		if p.Note == "" {
			t.Errorf("%s: empty note", p.Label)
		}
	}
}

// Every version's module file must pin exactly the client-go its entry names, and declare
// the root module: the probe is built from the repository root as package ./apps/probe.
func TestModuleFilesPinClientGo(t *testing.T) {
	all, err := Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	rootModule := readModFile(t, filepath.Join(repoRoot, "go.mod")).Module.Mod.Path
	for _, p := range OfLanguage(all, LanguageGo) {
		f := readModFile(t, filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, ModFile))
		if f.Module.Mod.Path != rootModule {
			t.Errorf("%s: module %s, want %s", p.Label, f.Module.Mod.Path, rootModule)
		}
		var got []string
		for _, r := range f.Require {
			if r.Mod.Path == clientGoPath {
				got = append(got, r.Mod.Version)
			}
		}
		if len(got) != 1 || got[0] != p.Module {
			t.Errorf("%s: %s requires client-go %v, want exactly %s", p.Label, ModFile, got, p.Module)
		}
		for _, r := range f.Replace {
			if r.Old.Path == clientGoPath {
				t.Errorf("%s: %s replaces client-go", p.Label, ModFile)
			}
		}
	}
	// A go.mod would make its directory a module of its own, left out of the root module
	// (go install …@version, go:embed).
	err = filepath.WalkDir(filepath.Join(repoRoot, ProbeDir), func(path string, d fs.DirEntry, err error) error {
		if err == nil && (d.Name() == "go.mod" || d.Name() == "go.sum") {
			t.Errorf("%s: the probe's module files are versions/<label>/%s and %s", path, ModFile, SumFile)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A satoken binary outside a checkout builds from the tree it unpacks: same input hashes,
// so it reuses the checkout's binaries and images.
func TestInputHashSameInUnpackedTree(t *testing.T) {
	t.Setenv("SATOKEN_CACHE", t.TempDir())
	tree, err := bundle.Unpack()
	if err != nil {
		t.Fatal(err)
	}
	all, err := Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	env := &jsEnv{npm: "11.0.0", base: jsBase{Digest: "sha256:base"}}
	for _, p := range all {
		hash := func(root string) (string, error) { return inputHash(root, p, "go1.26.8") }
		if p.IsJS() {
			hash = func(root string) (string, error) { return jsInputHash(root, p, env) }
		}
		want, err := hash(repoRoot)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := hash(tree); err != nil || got != want {
			t.Errorf("%s: unpacked tree hash %s (%v), checkout %s", p.Label, got, err, want)
		}
	}
}

func readModFile(t *testing.T, path string) *modfile.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeMatrix makes a repo root holding a matrix file and module files for labels.
func writeMatrix(t *testing.T, matrix string, labels ...string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, ProbeDir)
	for _, l := range labels {
		vd := filepath.Join(dir, versionsDir, l)
		if err := os.MkdirAll(vd, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{ModFile, SumFile} {
			if err := os.WriteFile(filepath.Join(vd, f), []byte(l+" "+f+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, matrixFile), []byte(matrix), 0o644); err != nil {
		t.Fatal(err)
	}
	// No JavaScript probes.
	if err := os.MkdirAll(filepath.Join(root, JSProbeDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, JSProbeDir, matrixFile), []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestLoadRejects(t *testing.T) {
	for name, matrix := range map[string]string{
		"empty":         `[]`,
		"not json":      `{`,
		"unknown field": `[{"label":"a","module":"v1.0.0","tagz":[]}]`,
		"bad label":     `[{"label":"a/b","module":"v1.0.0"}]`,
		"duplicate":     `[{"label":"a","module":"v1.0.0"},{"label":"a","module":"v1.0.1"}]`,
		"bad module":    `[{"label":"a","module":"1.0"}]`,
		"bad tag":       `[{"label":"a","module":"v1.0.0","tags":["x y"]}]`,
		"no mod files":  `[{"label":"missing","module":"v1.0.0"}]`,
		"js prefix":     `[{"label":"js-a","module":"v1.0.0"}]`,
		"language":      `[{"label":"a","module":"v1.0.0","language":"javascript"}]`,
	} {
		if _, err := Load(writeMatrix(t, matrix, "a")); err == nil {
			t.Errorf("%s: Load accepted %s", name, matrix)
		}
	}
}

func TestSelect(t *testing.T) {
	all := []Probe{{Label: "v8.0.0", Language: LanguageGo}, {Label: "v0.18.0", Language: LanguageGo}, {Label: "v0.37.2", Language: LanguageGo},
		{Label: "js-0.10.2", Language: LanguageJS}, {Label: "js-1.4.0", Language: LanguageJS}}
	got, err := Select(all, "all")
	if err != nil || len(got) != 5 {
		t.Fatalf("all: %v, %v", got, err)
	}
	labels := func(ps []Probe) (out []string) {
		for _, p := range ps {
			out = append(out, p.Label)
		}
		return out
	}
	for spec, want := range map[string][]string{
		"go":                         {"v8.0.0", "v0.18.0", "v0.37.2"},
		"js":                         {"js-0.10.2", "js-1.4.0"},
		"js-1.4.0,v0.37.2,js-0.10.2": {"js-1.4.0", "v0.37.2", "js-0.10.2"},
	} {
		got, err := Select(all, spec)
		if err != nil || !slices.Equal(labels(got), want) {
			t.Errorf("%s: %v (%v), want %v", spec, labels(got), err, want)
		}
	}
	got, err = Select(all, " v0.37.2, v8.0.0,v0.37.2")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Label != "v0.37.2" || got[1].Label != "v8.0.0" {
		t.Fatalf("got %v", got)
	}
	for _, spec := range []string{"9.9.9", "", "v8.0.0,nope"} {
		_, err := Select(all, spec)
		if err == nil {
			t.Fatalf("%q: no error", spec)
		}
		for _, l := range []string{"v8.0.0", "v0.18.0", "v0.37.2"} {
			if !strings.Contains(err.Error(), l) {
				t.Errorf("%q: error %q does not list %s", spec, err, l)
			}
		}
	}
}

func TestImageName(t *testing.T) {
	if got := ImageName("v12.0.0"); got != "satoken/probe:v12.0.0" {
		t.Fatal(got)
	}
}

func TestInputHash(t *testing.T) {
	root := writeMatrix(t, `[]`, "a", "b")
	src := filepath.Join(root, ProbeDir, "main.go")
	write := func(path, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(src, "package main\n")
	write(filepath.Join(root, ProbeDir, "tokeninfo", "tokeninfo.go"), "package tokeninfo\n")
	a := Probe{Label: "a", Module: "v1.0.0", Tags: []string{"noctx"}}
	hash := func(p Probe, gov string) string {
		t.Helper()
		h, err := inputHash(root, p, gov)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := hash(a, "go1.26.8")
	if again := hash(a, "go1.26.8"); again != base || len(base) != 16 {
		t.Fatalf("unstable hash: %s vs %s", base, again)
	}
	// Tests, docs and other versions' files do not change the binary.
	write(filepath.Join(root, ProbeDir, "main_test.go"), "package main\n")
	write(filepath.Join(root, ProbeDir, "README.md"), "docs\n")
	write(filepath.Join(root, ProbeDir, versionsDir, "b", SumFile), "changed\n")
	if h := hash(a, "go1.26.8"); h != base {
		t.Errorf("hash changed on irrelevant files")
	}
	changes := map[string]func() string{
		"go version": func() string { return hash(a, "go1.27.0") },
		"tags":       func() string { return hash(Probe{Label: "a", Module: "v1.0.0"}, "go1.26.8") },
		"module":     func() string { return hash(Probe{Label: "a", Module: "v1.0.1", Tags: a.Tags}, "go1.26.8") },
		"label":      func() string { return hash(Probe{Label: "b", Module: "v1.0.0", Tags: a.Tags}, "go1.26.8") },
		"probe.sum": func() string {
			write(filepath.Join(root, ProbeDir, versionsDir, "a", SumFile), "other\n")
			return hash(a, "go1.26.8")
		},
		"package source": func() string {
			write(filepath.Join(root, ProbeDir, "tokeninfo", "tokeninfo.go"), "package tokeninfo // x\n")
			return hash(a, "go1.26.8")
		},
	}
	for name, f := range changes {
		if f() == base {
			t.Errorf("hash ignores %s", name)
		}
	}
}

func TestClientGoVersion(t *testing.T) {
	if _, err := ClientGoVersion(os.Args[0]); err == nil || !strings.Contains(err.Error(), clientGoPath) {
		t.Fatalf("test binary: err = %v, want 'does not link'", err)
	}
	if _, err := ClientGoVersion(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("missing file: no error")
	}

	// A binary linking a stand-in "k8s.io/client-go" module (replaced by a local
	// directory), built offline from a temp module.
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.com/m\n\ngo 1.21\n\nrequire k8s.io/client-go v0.99.0\n\nreplace k8s.io/client-go v0.99.0 => ./cg\n",
		"main.go":        "package main\n\nimport cg \"k8s.io/client-go\"\n\nfunc main() { println(cg.X) }\n",
		"cg/go.mod":      "module k8s.io/client-go\n\ngo 1.21\n",
		"cg/clientgo.go": "package clientgo\n\nconst X = 1\n",
	}
	for name, s := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	version, err := ClientGoVersion(bin)
	if err != nil {
		t.Fatal(err)
	}
	// Go records a directory replacement's version as "(devel)".
	if version != "(devel)" {
		t.Fatalf("got %q, want the replacement's (devel)", version)
	}
}
