package probes

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
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

// Every version's module file must pin exactly the client-go its entry names, and the
// probe module's own files must be the newest (last) entry's.
func TestModuleFilesPinClientGo(t *testing.T) {
	all, err := Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	probeModule := readModFile(t, filepath.Join(repoRoot, ProbeDir, "go.mod")).Module.Mod.Path
	for _, p := range all {
		f := readModFile(t, filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, "go.mod"))
		if f.Module.Mod.Path != probeModule {
			t.Errorf("%s: module %s, want %s", p.Label, f.Module.Mod.Path, probeModule)
		}
		var got []string
		for _, r := range f.Require {
			if r.Mod.Path == clientGoPath {
				got = append(got, r.Mod.Version)
			}
		}
		if len(got) != 1 || got[0] != p.Module {
			t.Errorf("%s: go.mod requires client-go %v, want exactly %s", p.Label, got, p.Module)
		}
		for _, r := range f.Replace {
			if r.Old.Path == clientGoPath {
				t.Errorf("%s: go.mod replaces client-go", p.Label)
			}
		}
	}
	newest := all[len(all)-1].Label
	for _, name := range []string{"go.mod", "go.sum"} {
		own, err := os.ReadFile(filepath.Join(repoRoot, ProbeDir, name))
		if err != nil {
			t.Fatal(err)
		}
		pinned, err := os.ReadFile(filepath.Join(repoRoot, ProbeDir, versionsDir, newest, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(own, pinned) {
			t.Errorf("%s/%s differs from %s/%s/%s (the newest entry)", ProbeDir, name, versionsDir, newest, name)
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
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := os.WriteFile(filepath.Join(vd, f), []byte(l+" "+f+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, matrixFile), []byte(matrix), 0o644); err != nil {
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
	} {
		if _, err := Load(writeMatrix(t, matrix, "a")); err == nil {
			t.Errorf("%s: Load accepted %s", name, matrix)
		}
	}
}

func TestSelect(t *testing.T) {
	all := []Probe{{Label: "v8.0.0"}, {Label: "v0.18.0"}, {Label: "v0.37.2"}}
	got, err := Select(all, "all")
	if err != nil || len(got) != 3 {
		t.Fatalf("all: %v, %v", got, err)
	}
	got, err = Select(all, " v0.37.2, v8.0.0,v0.37.2")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Label != "v0.37.2" || got[1].Label != "v8.0.0" {
		t.Fatalf("got %v", got)
	}
	for _, spec := range []string{"v9.9.9", "", "v8.0.0,nope"} {
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
	write(filepath.Join(root, ProbeDir, versionsDir, "b", "go.sum"), "changed\n")
	if h := hash(a, "go1.26.8"); h != base {
		t.Errorf("hash changed on irrelevant files")
	}
	changes := map[string]func() string{
		"go version": func() string { return hash(a, "go1.27.0") },
		"tags":       func() string { return hash(Probe{Label: "a", Module: "v1.0.0"}, "go1.26.8") },
		"module":     func() string { return hash(Probe{Label: "a", Module: "v1.0.1", Tags: a.Tags}, "go1.26.8") },
		"label":      func() string { return hash(Probe{Label: "b", Module: "v1.0.0", Tags: a.Tags}, "go1.26.8") },
		"go.sum": func() string {
			write(filepath.Join(root, ProbeDir, versionsDir, "a", "go.sum"), "other\n")
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
