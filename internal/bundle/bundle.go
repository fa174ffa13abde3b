// Package bundle decides where satoken reads its fixtures and sources (probe, runc
// wrapper) from: the satoken-e2e checkout it runs in, whose files win so that edits take
// effect at once, or else the copy embedded in the binary (package satoken at the
// repository root), unpacked once into the cache.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	satoken "github.com/satoken-e2e/satoken-e2e"
	"github.com/satoken-e2e/satoken-e2e/internal/cache"
)

// ModulePath is the root module; a checkout's go.mod declares it.
const ModulePath = "github.com/satoken-e2e/satoken-e2e"

const (
	// stubGoMod is the unpacked tree's go.mod: the go command needs one to find the module
	// root even when -modfile names the file it really reads (probe builds), and the runc
	// wrapper (standard library only) builds against it as is.
	stubGoMod = "module " + ModulePath + "\n\ngo 1.26.8\n"
	// marker marks an unpacked tree, so that it is never taken for a checkout.
	marker = ".satoken-unpacked"
)

// ErrNoCheckout is Checkout's error when no directory above dir is a checkout.
var ErrNoCheckout = errors.New("not inside a satoken-e2e checkout (and SATOKEN_REPO is unset)")

// Source is where satoken's files come from.
type Source struct {
	// Root holds fixtures/, apps/probe/ and cmd/runc-nosysresource/ as in the repository,
	// plus a go.mod; callers join repository-relative paths to it.
	Root string
	// Checkout is true for a satoken-e2e checkout, false for the unpacked embedded tree.
	Checkout bool
}

// Root returns the checkout holding dir (or $SATOKEN_REPO) when there is one, else the
// embedded tree unpacked into the cache.
func Root(dir string) (Source, error) {
	root, err := Checkout(dir)
	if err == nil {
		return Source{Root: root, Checkout: true}, nil
	}
	if !errors.Is(err, ErrNoCheckout) {
		return Source{}, err
	}
	root, err = Unpack()
	return Source{Root: root}, err
}

// Checkout finds the satoken-e2e checkout: $SATOKEN_REPO when set (it must be one), else
// the nearest directory from dir upwards whose go.mod declares ModulePath and that holds
// fixtures/. It returns ErrNoCheckout when there is none.
func Checkout(dir string) (string, error) {
	if r := os.Getenv("SATOKEN_REPO"); r != "" {
		if !isCheckout(r) {
			return "", fmt.Errorf("SATOKEN_REPO=%s is not a satoken-e2e checkout (no go.mod of %s with fixtures/)", r, ModulePath)
		}
		return r, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if isCheckout(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoCheckout
		}
		dir = parent
	}
}

func isCheckout(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
		return false
	}
	if st, err := os.Stat(filepath.Join(dir, "fixtures")); err != nil || !st.IsDir() {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && modfile.ModulePath(data) == ModulePath
}

// file is one file of the tree to unpack, by its slash-separated repository path.
type file struct {
	name string
	data []byte
}

func embedded() ([]file, error) {
	var files []file
	err := fs.WalkDir(satoken.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, "_test.go") || slices.Contains(strings.Split(path.Dir(name), "/"), "testdata") {
			return err
		}
		data, err := satoken.Files.ReadFile(name)
		files = append(files, file{name, data})
		return err
	})
	if err != nil {
		return nil, err
	}
	files = append(files, file{"go.mod", []byte(stubGoMod)}, file{"go.sum", nil})
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

func hashOf(files []file) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Unpack writes the embedded tree to <cache>/src/<content hash> once and returns that
// directory; later calls (and other binaries with the same content) reuse it. The tree
// is written to a temporary directory and renamed into place, so an interrupted unpack
// is never used.
func Unpack() (string, error) {
	files, err := embedded()
	if err != nil {
		return "", err
	}
	parent, err := cache.Dir("src")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(parent, hashOf(files))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(parent, ".unpack-")
	if err != nil {
		return "", err
	}
	if err := write(tmp, files); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpack satoken's embedded files: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // another satoken unpacked it meanwhile
		}
		return "", err
	}
	return dir, nil
}

func write(dir string, files []file) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	note := "Unpacked by satoken from the files embedded in its binary; not a checkout, do not edit.\n"
	if err := os.WriteFile(filepath.Join(dir, marker), []byte(note), 0o644); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
