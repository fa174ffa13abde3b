package scan

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// ClientNodePackage is the JavaScript client whose version decides token reloading in
// Node.js programs. A finding of it has ClientGo.Path set to this name and ClientGoBy
// FromPackageJSON: the client library slot of a Finding holds either client.
const ClientNodePackage = "@kubernetes/client-node"

// FromPackageJSON: the version is the "version" of the package's own package.json in a
// node_modules tree.
const FromPackageJSON = "package.json"

// clientNodeManifest is where npm installs the package's manifest, under any
// node_modules (nested copies included).
const clientNodeManifest = "node_modules/" + ClientNodePackage + "/package.json"

// maxManifestSize bounds a package.json read: the real one is a few kB.
const maxManifestSize = 1 << 20

// ClientNodeModule is the table's module of a client-node version: the npm spec, which
// no client-go module version can be mistaken for.
func ClientNodeModule(version string) string { return ClientNodePackage + "@" + version }

// IsClientNode reports whether a finding is a client-node package (not a Go binary).
func (f Finding) IsClientNode() bool {
	return f.ClientGo != nil && f.ClientGo.Path == ClientNodePackage
}

// isClientNodeManifest reports whether an in-image path (or a path in a scanned
// directory, slash-separated) is client-node's package.json in a node_modules tree.
func isClientNodeManifest(name string) bool {
	return name == clientNodeManifest || strings.HasSuffix(name, "/"+clientNodeManifest)
}

// clientNodeFinding reads a client-node package.json. A manifest of another package at
// that path (a fork renamed on install) is no finding; one without a version is an error:
// the client is there, but which one cannot be told.
func clientNodeFinding(r io.Reader) (Finding, bool, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return Finding{}, false, err
	}
	if len(data) > maxManifestSize {
		return Finding{}, false, errors.New("package.json larger than 1 MiB")
	}
	var m struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &m); err != nil {
		return Finding{}, false, fmt.Errorf("package.json: %w", err)
	}
	if m.Name != ClientNodePackage {
		return Finding{}, false, nil
	}
	if m.Version == "" {
		return Finding{}, false, errors.New("package.json of " + ClientNodePackage + " has no version")
	}
	return Finding{ClientGo: &Module{Path: ClientNodePackage, Version: m.Version}, ClientGoBy: FromPackageJSON}, true, nil
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
// for Go binaries and client-node packages. File is the path below root, slash-separated
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
	return sortedFindings(found, root), nil
}

// scanFile reads one regular file of a directory scan: client-node's package.json, or
// a Go binary.
func scanFile(p, name string) (Finding, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return Finding{}, false, err
	}
	defer f.Close()
	if isClientNodeManifest(strings.TrimPrefix(name, "/")) {
		return clientNodeFinding(f)
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

// PredictClientNode looks a client-node version up in t, on each Kubernetes minor apart
// (see byMinor): an exact match (the entry of that npm version, or of the probe label
// js-<version>) is the measured verdict; otherwise the worse verdict of its nearest
// measured client-node neighbours on the npm version order, as Predict does for
// client-go. Only client-node entries take part.
func PredictClientNode(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	v := "v" + strings.TrimPrefix(strings.TrimSpace(version), "v")
	if !semver.IsValid(v) {
		p.Reason = fmt.Sprintf("%s %q is not a version", ClientNodePackage, version)
		return p
	}
	return byMinor(t, true, version, func(t Table) Prediction {
		p := p // each minor starts from the version alone
		var measured []Entry
		for _, e := range t.Entries {
			if e.Module == ClientNodeModule(version) || e.Label == "js-"+version {
				return measuredAs(p, e)
			}
			if e.Verdict != verdict.NotJudged && semver.IsValid(e.npmVersion()) {
				measured = append(measured, e)
			}
		}
		if len(measured) == 0 {
			p.Reason = fmt.Sprintf("no measured %s entry with a RELOADS/FAILS/INTERMITTENT verdict", ClientNodePackage)
			return p
		}
		slices.SortStableFunc(measured, func(a, b Entry) int { return semver.Compare(a.npmVersion(), b.npmVersion()) })
		i, _ := slices.BinarySearchFunc(measured, v, func(e Entry, v string) int {
			return cmp.Or(semver.Compare(e.npmVersion(), v), -1) // equal versions sort below: i is the first above
		})
		return placeBetween(p, measured, i, "npm version order")
	})
}

// IsClientNode reports whether the entry measured a client-node version.
func (e Entry) IsClientNode() bool { return strings.HasPrefix(e.Module, ClientNodePackage+"@") }

// npmVersion is a client-node entry's version in semver's v-prefixed form.
func (e Entry) npmVersion() string { return "v" + strings.TrimPrefix(e.Module, ClientNodePackage+"@") }

// inImage reports whether name (an in-image path) is a client-node manifest, for layer
// scans.
func inImage(name string) bool {
	return isClientNodeManifest(strings.TrimPrefix(path.Clean(name), "/"))
}
