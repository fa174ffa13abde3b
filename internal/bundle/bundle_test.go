package bundle

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

const repoRoot = "../.."

// unpack unpacks the embedded tree into a fresh cache.
func unpack(t *testing.T) string {
	t.Helper()
	t.Setenv("SATOKEN_CACHE", t.TempDir())
	dir, err := Unpack()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUnpackedTreeLoads(t *testing.T) {
	dir := unpack(t)
	all, err := probes.Load(dir) // also needs every version's probe.mod and probe.sum
	if err != nil {
		t.Fatal(err)
	}
	want, err := probes.Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("unpacked matrix has %d entries, checkout %d", len(all), len(want))
	}
	for _, name := range []string{"go.mod", "go.sum", "cmd/runc-nosysresource/main.go", "apps/probe/main.go",
		"fixtures/kind/cluster.yaml.tmpl", "fixtures/kind/audit-policy.yaml", "fixtures/probe/probe.yaml.tmpl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := Checkout(dir); !errors.Is(err, ErrNoCheckout) {
		t.Errorf("the unpacked tree counts as a checkout (err %v)", err)
	}
}

// The embedded tree is the checkout's files: all of fixtures/, byte for byte, and no tests.
func TestUnpackedTreeMatchesCheckout(t *testing.T) {
	dir := unpack(t)
	err := filepath.WalkDir(filepath.Join(repoRoot, "fixtures"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Errorf("%s is not embedded", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasSuffix(rel, "_test.go") {
			t.Errorf("%s: test file unpacked", rel)
		}
		if rel == "go.mod" || rel == "go.sum" || rel == marker {
			return nil
		}
		got, _ := os.ReadFile(path)
		want, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the checkout's (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnpackReuses(t *testing.T) {
	dir := unpack(t)
	// A file changed in place must survive: the second call does not unpack again.
	probe := filepath.Join(dir, "fixtures", "verdict-table.json")
	if err := os.WriteFile(probe, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Unpack()
	if err != nil {
		t.Fatal(err)
	}
	if again != dir {
		t.Fatalf("second unpack went to %s, first to %s", again, dir)
	}
	if b, _ := os.ReadFile(probe); string(b) != "kept" {
		t.Fatal("second unpack rewrote the tree")
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries, want the one tree (no temp dirs left)", len(entries))
	}
}

func TestRoot(t *testing.T) {
	t.Setenv("SATOKEN_CACHE", t.TempDir())
	t.Setenv("SATOKEN_REPO", "")
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	// Inside the checkout, from any subdirectory: the checkout.
	src, err := Root(filepath.Join(repoRoot, "internal", "bundle"))
	if err != nil || !src.Checkout || src.Root != abs {
		t.Fatalf("in the checkout: %+v, %v; want %s", src, err, abs)
	}
	// Elsewhere: the unpacked tree.
	src, err = Root(t.TempDir())
	if err != nil || src.Checkout {
		t.Fatalf("outside: %+v, %v", src, err)
	}
	if _, err := os.Stat(filepath.Join(src.Root, marker)); err != nil {
		t.Fatalf("outside: %s is not the unpacked tree: %v", src.Root, err)
	}
	// A go.mod of another module with fixtures/ is not a checkout.
	other := t.TempDir()
	for name, s := range map[string]string{"go.mod": "module example.com/other\n", "fixtures/kind/cluster.yaml.tmpl": ""} {
		p := filepath.Join(other, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Checkout(other); !errors.Is(err, ErrNoCheckout) {
		t.Fatalf("another module: err %v, want ErrNoCheckout", err)
	}
	// SATOKEN_REPO wins, and must be a checkout.
	t.Setenv("SATOKEN_REPO", abs)
	if src, err := Root(other); err != nil || src.Root != abs || !src.Checkout {
		t.Fatalf("SATOKEN_REPO: %+v, %v", src, err)
	}
	t.Setenv("SATOKEN_REPO", other)
	if _, err := Root(abs); err == nil || errors.Is(err, ErrNoCheckout) {
		t.Fatalf("SATOKEN_REPO not a checkout: err %v", err)
	}
}

// The runc wrapper builds from the unpacked tree, against its stub go.mod.
func TestUnpackedTreeBuildsRuncWrapper(t *testing.T) {
	dir := unpack(t)
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(t.TempDir(), "wrapper"), "./cmd/runc-nosysresource")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// TestStubGoModMatchesTheRoot: the unpacked tree builds the runc wrapper, whose bytes are
// part of the node image's inputs; a different go directive would compile different bytes
// and rebuild the node image for a binary run outside a checkout.
func TestStubGoModMatchesTheRoot(t *testing.T) {
	root, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	want, err := modfile.ParseLax("go.mod", root, nil)
	require.NoError(t, err)
	stub, err := modfile.ParseLax("go.mod", []byte(stubGoMod), nil)
	require.NoError(t, err)
	require.Equal(t, want.Go.Version, stub.Go.Version)
}
