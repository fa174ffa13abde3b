package scan

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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

// PredictClientNode looks a client-node version up in t, on each Kubernetes minor apart
// (see byMinor), by the rules of Predict: an exact match (the entry of that npm version,
// or of the probe label js-<version>) is the measured verdict; an unmeasured version is
// predicted only between two measured neighbours of its own major version that agree.
// Each major rewrote the HTTP layer that sends the token (httpLayers), so a version is
// never predicted from another major's measurements. Only client-node entries take part.
func PredictClientNode(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	v := "v" + strings.TrimPrefix(strings.TrimSpace(version), "v")
	if !semver.IsValid(v) {
		p.Reason = fmt.Sprintf("%s %q is not a version", ClientNodePackage, version)
		return p
	}
	p.measure = []string{"js-" + strings.TrimPrefix(v, "v")}
	major := semver.Major(v)
	all := t.of(true)
	return byMinor(t, true, func(t Table) Prediction {
		p := p // each minor starts from the version alone
		var measured []Entry
		others := false
		for _, e := range t.Entries {
			if e.Module == ClientNodeModule(version) || e.Label == "js-"+version {
				return measuredAs(p, e)
			}
			if e.Verdict == verdict.NotJudged || !semver.IsValid(e.npmVersion()) {
				continue
			}
			if semver.Major(e.npmVersion()) == major {
				measured = append(measured, e)
			} else {
				others = true
			}
		}
		rewrite := ""
		if others {
			rewrite = "; measurements of other major versions do not count: " + httpLayerText
		}
		if len(measured) == 0 {
			p.Reason = fmt.Sprintf("unmeasured, and no %s %s.x was measured on this minor%s", ClientNodePackage, strings.TrimPrefix(major, "v"), rewrite)
			return p
		}
		slices.SortStableFunc(measured, func(a, b Entry) int { return semver.Compare(a.npmVersion(), b.npmVersion()) })
		i, _ := slices.BinarySearchFunc(measured, v, func(e Entry, v string) int {
			return cmp.Or(semver.Compare(e.npmVersion(), v), -1) // equal versions sort below: i is the first above
		})
		p = uniformOrNot(placeBetween(p, measured, i, "npm version order of "+strings.TrimPrefix(major, "v")+".x"), p.measure, all, func(e, low, up Entry) bool {
			n := e.npmVersion()
			return semver.IsValid(n) && semver.Major(n) == major && semver.Compare(n, low.npmVersion()) > 0 && semver.Compare(n, up.npmVersion()) < 0
		})
		if p.Verdict == verdict.NotJudged {
			p.Reason += rewrite
		}
		return p
	})
}

// httpLayerText says why client-node majors are never neighbours: each release's
// dependencies (npm registry) name the HTTP client that sends the token.
const httpLayerText = "each major rewrote the HTTP layer that sends the token (0.x uses request, 1.x node-fetch, 2.x undici)"

// IsClientNode reports whether the entry measured a client-node version.
func (e Entry) IsClientNode() bool { return strings.HasPrefix(e.Module, ClientNodePackage+"@") }

// npmVersion is a client-node entry's version in semver's v-prefixed form.
func (e Entry) npmVersion() string { return "v" + strings.TrimPrefix(e.Module, ClientNodePackage+"@") }
