package find

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// How a client-node finding was identified.
const (
	// FromPackageJSON: the version is the "version" of the package's own package.json in
	// a node_modules tree, whatever directory npm installed it under (an alias).
	FromPackageJSON = "package.json"
	// FromBundle: client-node's code was found in a bundled JavaScript file (webpack,
	// esbuild); a bundle records no version.
	FromBundle = "bundle"
)

// clientNodeManifest is where npm installs the package's manifest, under any
// node_modules (nested copies included), unless it is installed under an alias.
const clientNodeManifest = "node_modules/" + ClientNodePackage + "/package.json"

// maxManifestSize bounds a package.json read: the real one is a few kB.
const maxManifestSize = 1 << 20

// textReader is how a file named name (slash-separated, in an image or a scanned
// directory) is read for a client when it is not a binary: the root package.json of a
// package under node_modules, or a JavaScript file; nil for anything else.
func textReader(name string) func(io.Reader) (Finding, bool, error) {
	switch {
	case isPackageManifest(name):
		return func(r io.Reader) (Finding, bool, error) {
			return clientNodeFinding(r, strings.HasSuffix("/"+strings.TrimPrefix(name, "/"), "/"+clientNodeManifest))
		}
	case isJavaScript(name):
		return bundleFinding
	}
	return nil
}

// isPackageManifest reports whether name is the package.json at the root of a package
// installed in a node_modules tree: node_modules/NAME/package.json or
// node_modules/@SCOPE/NAME/package.json, nested copies included. The directory need not
// be the package's name: npm installs an alias ("k8s": "npm:@kubernetes/client-node@1.4.0")
// under the alias.
func isPackageManifest(name string) bool {
	i := strings.LastIndex(name, "node_modules/")
	if i < 0 || (i > 0 && name[i-1] != '/') || !strings.HasSuffix(name, "/package.json") {
		return false
	}
	dir := strings.TrimSuffix(name[i+len("node_modules/"):], "/package.json")
	parts := strings.Split(dir, "/")
	switch len(parts) {
	case 1:
		return parts[0] != "" && !strings.HasPrefix(parts[0], "@") && !strings.HasPrefix(parts[0], ".") // .bin, .cache: not packages
	case 2:
		return len(parts[0]) > 1 && strings.HasPrefix(parts[0], "@") && parts[1] != ""
	}
	return false
}

// clientNodeFinding reads a package's root package.json: a finding when its name is
// @kubernetes/client-node. Another package's manifest is no finding (a fork renamed on
// publication is not client-node, even at client-node's path). One without a version is
// an error: the client is there, but which one cannot be told. A manifest that cannot be
// read as JSON is an error where it could be client-node's (at its path, or naming it),
// and no finding elsewhere: some package's broken manifest says nothing of the client.
func clientNodeFinding(r io.Reader, atClientNodePath bool) (Finding, bool, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return Finding{}, false, err
	}
	mayBe := atClientNodePath || bytes.Contains(data, []byte(`"`+ClientNodePackage+`"`))
	fail := func(err error) (Finding, bool, error) {
		if mayBe {
			return Finding{}, false, err
		}
		return Finding{}, false, nil
	}
	if len(data) > maxManifestSize {
		return fail(errors.New("package.json larger than 1 MiB"))
	}
	var m struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &m); err != nil {
		return fail(fmt.Errorf("package.json: %w", err))
	}
	if m.Name != ClientNodePackage {
		return Finding{}, false, nil
	}
	if m.Version == "" {
		return Finding{}, false, errors.New("package.json of " + ClientNodePackage + " has no version")
	}
	return Finding{ClientGo: &Module{Path: ClientNodePackage, Version: m.Version}, ClientGoBy: FromPackageJSON}, true, nil
}

// isJavaScript reports whether name is a JavaScript file a bundler writes.
func isJavaScript(name string) bool {
	switch path.Ext(name) {
	case ".js", ".mjs", ".cjs":
		return true
	}
	return false
}

// bundleSignatures are strings of client-node's in-cluster configuration
// (KubeConfig.loadFromCluster: its method name, the names it gives the cluster's user and
// context, the service account directory) that every release read — 0.5.2, 0.8.0, 0.9.2,
// 0.10.2, 0.16.3, 0.22.3, 1.0.0, 1.4.0 and 2.0.1 from their npm tarballs — has in one file,
// dist/config.js. Bundlers and minifiers keep string literals and method names, so a
// bundle of a program that uses the client keeps all of them.
var bundleSignatures = []string{"loadFromCluster", "inClusterUser", "inClusterContext", "/var/run/secrets/kubernetes.io/serviceaccount"}

// bundleFinding reads a JavaScript file: a finding, without a version, when it holds
// client-node's in-cluster configuration code (see dropPackagedBundles for the package's
// own files).
func bundleFinding(r io.Reader) (Finding, bool, error) {
	found, err := containsAll(r, bundleSignatures)
	if err != nil || !found {
		return Finding{}, false, err
	}
	return Finding{ClientGo: &Module{Path: ClientNodePackage}, ClientGoBy: FromBundle}, true, nil
}

// containsAll reports whether r holds every one of sigs, reading it in chunks that
// overlap by the longest signature, so a file of any size is scanned in constant memory.
func containsAll(r io.Reader, sigs []string) (bool, error) {
	longest := 0
	for _, s := range sigs {
		longest = max(longest, len(s))
	}
	seen, left := make([]bool, len(sigs)), len(sigs)
	buf := make([]byte, longest+64<<10)
	keep := 0
	for {
		n, err := io.ReadFull(r, buf[keep:])
		window := buf[:keep+n]
		for i, s := range sigs {
			if !seen[i] && bytes.Contains(window, []byte(s)) {
				seen[i], left = true, left-1
			}
		}
		switch {
		case left == 0:
			return true, nil
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return false, nil
		case err != nil:
			return false, err
		}
		keep = min(longest-1, len(window))
		copy(buf, window[len(window)-keep:])
	}
}

// dropPackagedBundles removes the bundle findings that are files of an installed
// client-node package (its own dist/config.js): the package's manifest already names
// its version. Files elsewhere — an application's bundle beside its node_modules, a
// renamed fork's files — stay: which version they were built from cannot be told.
func dropPackagedBundles(found map[string]Finding) {
	for name, f := range found {
		if f.ClientGoBy != FromBundle {
			continue
		}
		for _, m := range found {
			if m.ClientGoBy == FromPackageJSON && strings.HasPrefix(name, path.Dir(m.File)+"/") {
				delete(found, name)
				break
			}
		}
	}
}
