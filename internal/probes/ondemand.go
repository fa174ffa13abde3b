package probes

// Probes of versions no versions.json pins, built on demand (`satoken run --versions
// v0.16.15,js-0.16.3`). Select takes such a label as Unpinned (no network); Build
// resolves every one before building anything: it generates the version's module files
// (Go: `go mod tidy` on the Go module proxy) or npm files (npm's registry) into the
// cache, keyed by their inputs, and takes the build tags or adapter from what it
// resolved. From there the probe is built, hashed, checked and reported like a pinned
// one; its generated files are inputs of its hash like a pinned one's.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
)

// generatedDir holds, under the cache, each unpinned version's generated files in
// <label>-<key>/ (key: the hash of what generated them).
const generatedDir = "probe-versions"

// maxLabel keeps a label inside Kubernetes' 63-character names once prefixed for its
// namespace (repro.NamespaceFor: "satoken-").
const maxLabel = 63 - len("satoken-")

// unpinned is the probe of a label the matrix does not pin: js-<client-node version>, or
// a client-go module version. It checks what the label alone tells; Build resolves it.
func unpinned(label string) (Probe, error) {
	if len(label) > maxLabel || !labelRE.MatchString(strings.TrimSuffix(label, "+incompatible")) {
		return Probe{}, fmt.Errorf("not a label of at most %d characters [A-Za-z0-9_.-]", maxLabel)
	}
	if version, ok := strings.CutPrefix(label, JSLabelPrefix); ok {
		if !exactVersion("v" + version) {
			return Probe{}, fmt.Errorf("not %s<exact @kubernetes/client-node version>, e.g. js-0.16.3", JSLabelPrefix)
		}
		adapter, err := jsAdapterFor(version)
		if err != nil {
			return Probe{}, err
		}
		return Probe{Label: label, Module: find.ClientNodeModule(version), Language: LanguageJS, Adapter: adapter, Unpinned: true}, nil
	}
	if !exactVersion(strings.TrimSuffix(label, "+incompatible")) {
		return Probe{}, errors.New("not a pinned label, an exact k8s.io/client-go module version (a tag like v0.31.4, or a pseudo-version) " +
			"or " + JSLabelPrefix + "<@kubernetes/client-node version>")
	}
	return Probe{Label: label, Module: label, Language: LanguageGo, K8sRelease: find.ClientGoK8sRelease(label), Unpinned: true}, nil
}

// exactVersion: a full semantic version (no shorthand like v1.2, no build metadata).
func exactVersion(v string) bool { return semver.IsValid(v) && semver.Canonical(v) == v }

// jsUnsupported says why a client-node major has no adapter, where that was measured.
var jsUnsupported = map[string]string{
	"v2": "client-node 2.x sends through undici 8, which needs Node.js >= 22.19 and does not load on the probe image's " +
		"Node.js 18 (Debian bookworm; see apps/probe-js/README.md)",
}

// jsAdapterFor is the adapter of a client-node version's API era, by its major version
// (checkNPMFiles then checks its HTTP library, checkExports what the adapter calls).
func jsAdapterFor(version string) (string, error) {
	major := semver.Major("v" + version)
	for _, a := range jsAdapters {
		if a.major == major {
			return a.name, nil
		}
	}
	if why, ok := jsUnsupported[major]; ok {
		return "", errors.New(why)
	}
	return "", fmt.Errorf("client-node %s.x: no adapter for its API era (%s)", strings.TrimPrefix(major, "v"), adapterLibraries())
}

// resolveUnpinned generates the files of the unpinned probes among in.Probes and returns
// the selection with them resolved, in order.
func resolveUnpinned(ctx context.Context, in BuildInput, tools *buildTools) ([]Probe, error) {
	out := slices.Clone(in.Probes)
	for i, p := range out {
		if !p.Unpinned {
			continue
		}
		var err error
		if p.IsJS() {
			var js *jsEnv
			if js, err = tools.npm(ctx, in); err == nil {
				out[i], err = resolveJS(ctx, in, p, js)
			}
		} else {
			var goVersion string
			if goVersion, err = tools.goVersion(ctx); err == nil {
				out[i], err = resolveGo(ctx, in, p, goVersion)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("probe %s (not pinned): %w", p.Label, err)
		}
	}
	return out, nil
}

// generated returns the cached directory of a version's generated files, making it when
// missing: gen writes them into a temporary directory, renamed into place once complete,
// so an interrupted generation never looks cached.
func generated(in BuildInput, label, key string, files []string, gen func(dir string) error) (dir string, cached bool, err error) {
	dir = filepath.Join(in.CacheDir, generatedDir, label+"-"+key)
	complete := func() bool {
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return false
			}
		}
		return true
	}
	if complete() {
		return dir, true, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), label+"-tmp-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	if err := gen(tmp); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil && !complete() { // another satoken may have won
		return "", false, err
	}
	return dir, false, nil
}
