package find

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ClientNodePackage is the JavaScript client whose version decides token reloading in
// Node.js programs. A finding of it has ClientGo.Path set to this name and ClientGoBy
// FromPackageJSON: the client library slot of a Finding holds either client.
const ClientNodePackage = "@kubernetes/client-node"

// ClientNodeModule is the table's module of a client-node version: the npm spec, which
// no client-go module version can be mistaken for.
func ClientNodeModule(version string) string { return ClientNodePackage + "@" + version }

// IsClientNode reports whether a finding is a client-node package or bundle (not a Go
// binary).
func (f Finding) IsClientNode() bool {
	return f.ClientGo != nil && f.ClientGo.Path == ClientNodePackage
}

// Layer scans one image layer (a tar stream, gzip-compressed or not) on its own: the Go
// binaries and client-node packages it adds. internal/probes checks its JavaScript probe
// layers with it, the reader `satoken scan` uses.
func Layer(r io.Reader) ([]Finding, error) {
	tmp, err := os.CreateTemp("", "satoken-scan-bin-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	merged := map[string]Finding{}
	if err := scanLayer(r, merged, tmp); err != nil {
		return nil, err
	}
	dropPackagedBundles(merged)
	return sortedFindings(merged, ""), nil
}

func sortedFindings(m map[string]Finding, target string) []Finding {
	out := make([]Finding, 0, len(m))
	for _, f := range m {
		f.Target = target
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return strings.Compare(a.File, b.File) })
	return out
}

// Dir scans a directory tree — an unpacked image, an application with its node_modules —
// for Go binaries and client-node packages and bundles. File is the path below root, slash-separated
// with a leading slash, as for images. Symbolic links are not followed.
func Dir(root string) ([]Finding, error) {
	found := map[string]Finding{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := "/" + filepath.ToSlash(rel)
		f, ok, err := scanFile(p, name)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if ok {
			f.File = name
			found[name] = f
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dropPackagedBundles(found)
	return sortedFindings(found, root), nil
}

// File scans one file given as a target: a Go binary or a JavaScript bundle. Anything
// else holds no client: no finding.
func File(path string) ([]Finding, error) {
	f, ok, err := scanFile(path, "/"+filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !ok {
		return []Finding{}, nil
	}
	f.Target = path
	return []Finding{f}, nil
}

// scanFile reads one regular file of a directory scan: a package.json or JavaScript file
// (see textReader), or a Go binary.
func scanFile(p, name string) (Finding, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return Finding{}, false, err
	}
	defer f.Close()
	if read := textReader(name); read != nil {
		return read(f)
	}
	st, err := f.Stat()
	if err != nil || st.Size() > maxBinarySize {
		return Finding{}, false, err
	}
	head := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, elfMagic) {
		return Finding{}, false, nil
	}
	fd, err := readGoBinary(f)
	if errors.Is(err, ErrNotGoBinary) {
		return Finding{}, false, nil
	}
	return fd, err == nil, err
}
