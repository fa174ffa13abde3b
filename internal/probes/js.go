package probes

// The JavaScript probes: apps/probe-js (one probe source, per-era adapters) with
// @kubernetes/client-node pinned per version by apps/probe-js/versions/<label>/
// package.json + package-lock.json, listed in apps/probe-js/versions.json.
//
// Image: two layers, assembled in Go like the Go probes' (Built.OCI), so every place an
// image goes (docker, kind nodes, a registry) gets the same one without Docker builds:
//   - base: a Debian minbase rootfs with Debian's nodejs (debootstrapped from the host's
//     apt mirror by nodeimage.Debootstrap, cached as a layer file by its inputs);
//   - app: /app with the probe's sources, build.json (label, adapter) and node_modules,
//     installed on the host by `npm ci --offline` from satoken's npm cache (online once,
//     the first time a lockfile is installed), cached by the probe's input hash.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/cache"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
)

// Languages of the probe matrix.
const (
	LanguageGo = "go"
	LanguageJS = "javascript"
)

const (
	// JSProbeDir is the JavaScript probe, relative to the repository root.
	JSProbeDir = "apps/probe-js"
	// PackageFile and LockFile are each JavaScript version's npm files in versions/<label>/.
	PackageFile = "package.json"
	LockFile    = "package-lock.json"
	// JSLabelPrefix starts every JavaScript label, so that labels never collide with
	// client-go release tags.
	JSLabelPrefix = "js-"
	// ClientNodePackage is the JavaScript client library the probes pin.
	ClientNodePackage = find.ClientNodePackage
)

// jsAdapter is one of the probe's client-node API eras (apps/probe-js/adapters/<name>.js).
type jsAdapter struct {
	name  string
	major string // the client-node major version of the era, as semver.Major gives it
	// library is the HTTP library the era's client-node sends through, which the probe's
	// wire recorder (lib/wire.js) is known to see.
	library string
}

var jsAdapters = []jsAdapter{{"request", "v0", "request"}, {"fetch", "v1", "node-fetch"}}

func adapterIndex(name string) int {
	return slices.IndexFunc(jsAdapters, func(a jsAdapter) bool { return a.name == name })
}

func adapterNames() string {
	var names []string
	for _, a := range jsAdapters {
		names = append(names, a.name)
	}
	return strings.Join(names, ", ")
}

func adapterLibraries() string {
	var libs []string
	for _, a := range jsAdapters {
		libs = append(libs, a.name+": "+a.library)
	}
	return strings.Join(libs, ", ")
}

// jsEntry is one entry of apps/probe-js/versions.json.
type jsEntry struct {
	Label   string `json:"label"`   // js-<version>; also the image tag
	Version string `json:"version"` // exact @kubernetes/client-node version pinned
	Adapter string `json:"adapter"` // request (0.x) or fetch (1.x)
	Note    string `json:"note"`
}

// IsJS reports whether p is a JavaScript probe.
func (p Probe) IsJS() bool { return p.Language == LanguageJS }

// Library is the client library the probe pins: k8s.io/client-go or
// @kubernetes/client-node.
func (p Probe) Library() string {
	if p.IsJS() {
		return ClientNodePackage
	}
	return clientGoPath
}

// LibraryVersion is the pinned library's own version: client-go's module version, or
// client-node's npm version.
func (p Probe) LibraryVersion() string {
	if p.IsJS() {
		return strings.TrimPrefix(p.Module, ClientNodePackage+"@")
	}
	return p.Module
}

// loadJS reads and validates apps/probe-js/versions.json, in file order (oldest first).
// Every entry needs versions/<label>/package.json, pinning exactly its version, and a
// package-lock.json whose packages all carry their resolved URL and integrity (what
// `npm ci --offline` needs to install from the cache).
func loadJS(repoRoot string, seen map[string]bool) ([]Probe, error) {
	file := filepath.Join(repoRoot, JSProbeDir, matrixFile)
	var entries []jsEntry
	if err := readMatrix(file, &entries); err != nil {
		return nil, err
	}
	var out []Probe
	for i, e := range entries {
		switch {
		case !labelRE.MatchString(e.Label) || !strings.HasPrefix(e.Label, JSLabelPrefix):
			return nil, fmt.Errorf("%s: entry %d: label %q is not %s<version> and a valid image tag", file, i, e.Label, JSLabelPrefix)
		case seen[e.Label]:
			return nil, fmt.Errorf("%s: label %q listed twice", file, e.Label)
		case !semver.IsValid("v"+e.Version) || semver.Canonical("v"+e.Version) != "v"+e.Version:
			return nil, fmt.Errorf("%s: %s: version %q is not an exact npm version", file, e.Label, e.Version)
		case adapterIndex(e.Adapter) < 0:
			return nil, fmt.Errorf("%s: %s: adapter %q, want one of %s", file, e.Label, e.Adapter, adapterNames())
		case e.Note == "":
			return nil, fmt.Errorf("%s: %s: empty note", file, e.Label)
		}
		dir := filepath.Join(repoRoot, JSProbeDir, versionsDir, e.Label)
		if err := checkNPMFiles(dir, e.Version, e.Adapter); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, e.Label, err)
		}
		seen[e.Label] = true
		out = append(out, Probe{Label: e.Label, Module: find.ClientNodeModule(e.Version), Note: e.Note,
			Language: LanguageJS, Adapter: e.Adapter})
	}
	return out, nil
}

// checkNPMFiles checks a version's package.json and package-lock.json, and that the
// client-node they install sends through the HTTP library of its adapter's era.
func checkNPMFiles(dir, version, adapter string) error {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(filepath.Join(dir, PackageFile), &pkg); err != nil {
		return err
	}
	if len(pkg.Dependencies) != 1 || pkg.Dependencies[ClientNodePackage] != version || len(pkg.DevDependencies) > 0 {
		return fmt.Errorf("%s: dependencies %v, want exactly %s %s", PackageFile, pkg.Dependencies, ClientNodePackage, version)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version      string            `json:"version"`
			Resolved     string            `json:"resolved"`
			Integrity    string            `json:"integrity"`
			Link         bool              `json:"link"`
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	if err := readJSON(filepath.Join(dir, LockFile), &lock); err != nil {
		return err
	}
	if lock.LockfileVersion < 2 {
		return fmt.Errorf("%s: lockfileVersion %d, want 2 or 3 (npm 7+)", LockFile, lock.LockfileVersion)
	}
	if got := lock.Packages[""].Dependencies[ClientNodePackage]; got != version {
		return fmt.Errorf("%s: the root depends on %s %q, want %s (package.json changed without npm install?)", LockFile, ClientNodePackage, got, version)
	}
	client := lock.Packages["node_modules/"+ClientNodePackage]
	if client.Version != version {
		return fmt.Errorf("%s: installs %s %q, want %s", LockFile, ClientNodePackage, client.Version, version)
	}
	if i := adapterIndex(adapter); i < 0 || client.Dependencies[jsAdapters[i].library] == "" {
		return fmt.Errorf("%s: %s %s does not depend on the HTTP library of the %q adapter's era (%s): the probe would not see the requests it sends",
			LockFile, ClientNodePackage, version, adapter, adapterLibraries())
	}
	var missing []string
	for name, p := range lock.Packages {
		if name != "" && !p.Link && (p.Resolved == "" || p.Integrity == "") {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%s: %d packages without resolved URL or integrity (e.g. %s): npm ci --offline cannot install them; "+
			"regenerate it with npm install --package-lock-only --omit-lockfile-registry-resolved=false", LockFile, len(missing), missing[0])
	}
	return nil
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// jsBasePackages are debootstrapped on top of minbase: Debian's Node.js and what it
// depends on (libnode, ICU, OpenSSL, libuv, ...).
var jsBasePackages = []string{"nodejs"}

// jsBaseRecipe names how the base layer is made from the debootstrap tarball; change it
// with the filter.
const jsBaseRecipe = "probe-js base v1: debootstrap minbase+nodejs; no dev/proc/sys/run/tmp content, apt lists and caches, docs, man pages, locales, logs"

// jsBaseDrop lists the directories whose contents the base layer leaves out (the
// directories themselves stay).
var jsBaseDrop = []string{"dev", "proc", "sys", "run", "tmp", "var/cache/apt", "var/lib/apt/lists", "var/log",
	"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian"}

// jsBase is the Node.js runtime layer.
type jsBase struct {
	Layer  string `json:"-"`      // gzip-compressed tar
	Digest string `json:"digest"` // sha256 of Layer
	NodeJS string `json:"nodejs"` // Debian's nodejs package version in it
}

// jsBaseLayer returns the cached base layer, making it (debootstrap, ~3 min) on first use.
func jsBaseLayer(ctx context.Context, in BuildInput) (jsBase, error) {
	dir := filepath.Join(in.CacheDir, "probe-js")
	key := shortHash(nodeimage.DebianSuite + "\x00" + strings.Join(jsBasePackages, ",") + "\x00" + jsBaseRecipe)
	b := jsBase{Layer: filepath.Join(dir, "base-"+nodeimage.DebianSuite+"-"+key+".tar.gz")}
	meta := b.Layer + ".json"
	if err := readJSON(meta, &b); err == nil {
		if _, err := os.Stat(b.Layer); err == nil {
			in.Log.Printf("Node.js base layer cached (Debian nodejs %s, %s)", b.NodeJS, b.Digest)
			return b, nil
		}
	}
	err := in.Log.Run("Node.js base layer (debootstrap "+nodeimage.DebianSuite+" minbase + "+strings.Join(jsBasePackages, ",")+")", func() error {
		work, err := os.MkdirTemp(in.CacheDir, "probe-js-base-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		rootfs, err := nodeimage.Debootstrap(ctx, in.CacheDir, work, jsBasePackages, in.Log)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		b.NodeJS, err = baseLayerFromRootfs(rootfs, b.Layer+".tmp")
		if err != nil {
			os.Remove(b.Layer + ".tmp")
			return err
		}
		if b.Digest, err = fileDigest(b.Layer + ".tmp"); err != nil {
			return err
		}
		if err := os.Rename(b.Layer+".tmp", b.Layer); err != nil {
			return err
		}
		data, _ := json.Marshal(b)
		return os.WriteFile(meta, data, 0o644)
	})
	return b, err
}

// baseLayerFromRootfs writes the base layer from a debootstrap tarball: entries under
// jsBaseDrop and device nodes are left out, names lose their "./". It returns the nodejs
// package version from dpkg's status file, and fails when nodejs is not installed.
func baseLayerFromRootfs(rootfs, dst string) (nodejs string, err error) {
	src, err := os.Open(rootfs)
	if err != nil {
		return "", err
	}
	defer src.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer out.Close()
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(bufio.NewReaderSize(src, 1<<20))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" || h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || h.Typeflag == tar.TypeFifo || dropped(name) {
			continue
		}
		if name == "var/lib/dpkg/status" {
			data, err := io.ReadAll(tr)
			if err != nil {
				return "", err
			}
			nodejs = dpkgVersion(data, "nodejs")
			if err := copyEntry(tw, h, name, bytes.NewReader(data)); err != nil {
				return "", err
			}
			continue
		}
		if err := copyEntry(tw, h, name, tr); err != nil {
			return "", err
		}
	}
	if nodejs == "" {
		return "", fmt.Errorf("%s: nodejs is not installed in the rootfs (no nodejs in var/lib/dpkg/status)", rootfs)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return nodejs, out.Close()
}

func dropped(name string) bool {
	for _, d := range jsBaseDrop {
		if strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return false
}

func copyEntry(tw *tar.Writer, h *tar.Header, name string, r io.Reader) error {
	h.Name = name
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	if h.Typeflag == tar.TypeLink {
		h.Linkname = strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
	}
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if h.Typeflag == tar.TypeReg {
		_, err := io.Copy(tw, r)
		return err
	}
	return nil
}

// dpkgVersion returns the version of an installed package from dpkg's status file.
func dpkgVersion(status []byte, pkg string) string {
	for _, stanza := range strings.Split(string(status), "\n\n") {
		var name, version, state string
		for _, line := range strings.Split(stanza, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "Package":
				name = v
			case "Version":
				version = v
			case "Status":
				state = v
			}
		}
		if name == pkg && strings.HasSuffix(state, " installed") {
			return version
		}
	}
	return ""
}

func fileDigest(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// npmArgs install a version's lockfile exactly (npm ci), from satoken's npm cache only,
// without running package scripts or linking binaries. Part of the input hash.
var npmArgs = []string{"ci", "--offline", "--ignore-scripts", "--no-bin-links", "--no-audit", "--no-fund", "--loglevel=error"}

// jsImageRecipe names the recipe of Built.OCI for JavaScript probes; change it with it.
const jsImageRecipe = "oci: base layer + app layer (/app, root-owned, mtime 0), USER 65534:65534, ENTRYPOINT /usr/bin/node /app/probe.js, WORKDIR /app, labels"

// jsEnv is everything a JavaScript build needs besides the probe: the base layer and npm.
type jsEnv struct {
	base     jsBase
	npm      string // npm --version
	npmCache string
}

// npmEnv finds npm and names satoken's npm cache (no base layer yet).
func npmEnv(ctx context.Context, in BuildInput) (*jsEnv, error) {
	if _, err := osexec.LookPath("npm"); err != nil {
		return nil, errors.New("the JavaScript probes are installed with npm, which is not on PATH: apt-get install -y nodejs npm (or select the Go probes only: --versions go)")
	}
	version, err := hostcmd.Output(exec.CommandContext(ctx, "npm", "--version"))
	if err != nil {
		return nil, err
	}
	return &jsEnv{npm: strings.TrimSpace(version), npmCache: filepath.Join(in.CacheDir, "npm")}, nil
}

// buildTools are what builds take from the host, each found once per Build and only
// when needed: the Go version, npm, the Node.js base layer.
type buildTools struct {
	gov string
	js  *jsEnv
}

func (t *buildTools) goVersion(ctx context.Context) (string, error) {
	if t.gov != "" {
		return t.gov, nil
	}
	v, err := gocmd.Version(ctx)
	t.gov = v
	return v, err
}

func (t *buildTools) npm(ctx context.Context, in BuildInput) (*jsEnv, error) {
	if t.js != nil {
		return t.js, nil
	}
	js, err := npmEnv(ctx, in)
	t.js = js
	return js, err
}

// jsBase is npm and the base layer (made on first use, see jsBaseLayer).
func (t *buildTools) jsBase(ctx context.Context, in BuildInput) (*jsEnv, error) {
	js, err := t.npm(ctx, in)
	if err != nil || js.base.Layer != "" {
		return js, err
	}
	base, err := jsBaseLayer(ctx, in)
	if err != nil {
		return nil, err
	}
	js.base = base
	return js, nil
}

// buildJS builds (or reuses) a JavaScript probe's app layer and image.
func buildJS(ctx context.Context, in BuildInput, p Probe, env *jsEnv) (Built, error) {
	hash, err := jsInputHash(in.RepoRoot, p, env)
	if err != nil {
		return Built{}, err
	}
	app := filepath.Join(in.CacheDir, "probes", p.Label+"-"+hash, "app.tar.gz")
	b := Built{Probe: p, Image: ImageName(p.Label), InputHash: hash, Layers: []string{env.base.Layer, app},
		NodeJS: env.base.NodeJS}
	if _, err := os.Stat(app); err == nil {
		in.Log.Printf("probe %s: app layer cached (%s)", p.Label, hash)
	} else {
		err := in.Log.Run(fmt.Sprintf("npm ci probe %s (%s, adapter %s)", p.Label, p.Module, p.Adapter), func() error {
			return buildJSApp(ctx, in, p, env, app)
		})
		if err != nil {
			return b, err
		}
	}
	// Checked on cached layers too, with satoken scan's reader: a wrong client-node would
	// invalidate every result.
	if v, err := ClientNodeVersion(app); err != nil {
		return b, err
	} else if v != p.LibraryVersion() {
		return b, fmt.Errorf("%s installs %s %s, want %s", app, ClientNodePackage, v, p.LibraryVersion())
	}
	if docker.UpToDate(ctx, b.Image, hash) {
		in.Log.Printf("probe %s: image %s up to date", p.Label, b.Image)
		return b, nil
	}
	return b, in.Log.Run("docker load "+b.Image, func() error { return dockerLoad(ctx, b) })
}

// ClientNodeVersion reads which client-node version a JavaScript probe's app layer
// installs at /app/node_modules, with the reader `satoken scan` uses.
func ClientNodeVersion(appLayer string) (string, error) {
	f, err := os.Open(appLayer)
	if err != nil {
		return "", err
	}
	defer f.Close()
	found, err := find.Layer(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", appLayer, err)
	}
	for _, fd := range found {
		if fd.IsClientNode() && fd.File == "/app/node_modules/"+ClientNodePackage+"/package.json" {
			return fd.ClientGo.Version, nil
		}
	}
	return "", fmt.Errorf("%s: no %s in /app/node_modules", appLayer, ClientNodePackage)
}

// buildJSApp stages /app (sources, build.json, the version's npm files), installs
// node_modules with npm ci from the cache, and writes the app layer; the layer is renamed
// into place last, so an interrupted build never leaves one that looks cached.
func buildJSApp(ctx context.Context, in BuildInput, p Probe, env *jsEnv, dst string) error {
	work, err := os.MkdirTemp(in.CacheDir, "probe-js-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	app := filepath.Join(work, "app")
	srcRoot := filepath.Join(in.RepoRoot, JSProbeDir)
	files, err := jsSources(srcRoot)
	if err != nil {
		return err
	}
	copies := map[string]string{}
	for _, f := range files {
		rel, _ := filepath.Rel(srcRoot, f)
		copies[rel] = f
	}
	for _, name := range []string{PackageFile, LockFile} {
		copies[name] = versionFile(in.RepoRoot, JSProbeDir, p, name)
	}
	for rel, src := range copies {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(app, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(app, rel), data, 0o644); err != nil {
			return err
		}
	}
	build, _ := json.Marshal(map[string]string{"label": p.Label, "adapter": p.Adapter})
	if err := os.WriteFile(filepath.Join(app, "build.json"), append(build, '\n'), 0o644); err != nil {
		return err
	}
	if err := npmCI(ctx, in, app, env); err != nil {
		return err
	}
	if err := checkExports(ctx, work, app, p); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := writeTreeLayer(app, "app", tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// npmCI installs node_modules in dir from satoken's npm cache; when the cache lacks a
// package (the first install of a lockfile on this machine) it runs once more online,
// which fills the cache.
func npmCI(ctx context.Context, in BuildInput, dir string, env *jsEnv) error {
	run := func(args []string) error {
		args = append(slices.Clone(args), "--cache", env.npmCache)
		_, err := hostcmd.Output(hostcmd.InDir(exec.CommandContext(ctx, "npm", args...), dir,
			"npm_config_update_notifier=false", "npm_config_fund=false"))
		return err
	}
	err := run(npmArgs)
	if err == nil || !strings.Contains(err.Error(), "ENOTCACHED") {
		return err
	}
	in.Log.Printf("npm cache %s lacks packages of this lockfile: npm ci online once (--prefer-offline)", env.npmCache)
	online := slices.Clone(npmArgs)
	online[slices.Index(online, "--offline")] = "--prefer-offline"
	if err := os.RemoveAll(filepath.Join(dir, "node_modules")); err != nil {
		return err
	}
	return run(online)
}

// exportsScript loads the installed client-node through the probe's adapter (argv[2]),
// as probe.js does, and exits 3 naming what the adapters call that it lacks.
const exportsScript = `'use strict';
const adapter = require(require('path').resolve('adapters', process.argv[2] + '.js'));
adapter.load().then((k8s) => {
  const kc = k8s.KubeConfig && k8s.KubeConfig.prototype;
  const api = k8s.CoreV1Api && k8s.CoreV1Api.prototype;
  const missing = [['KubeConfig.loadFromCluster', kc && kc.loadFromCluster], ['KubeConfig.makeApiClient', kc && kc.makeApiClient],
    ['CoreV1Api.listNamespacedPod', api && api.listNamespacedPod]].filter(([, f]) => typeof f !== 'function').map(([name]) => name);
  if (missing.length > 0) { console.error('it has no ' + missing.join(', ')); process.exit(3); }
}, (err) => { console.error('it does not load: ' + err.message); process.exit(3); });
`

// checkExports fails when the client-node installed in app lacks what the probe's
// adapter calls (e.g. a client-node older than any adapter's era), so that such a version
// fails its build rather than a run. The script runs from work, outside the image.
func checkExports(ctx context.Context, work, app string, p Probe) error {
	script := filepath.Join(work, "exports-check.js")
	if err := os.WriteFile(script, []byte(exportsScript), 0o644); err != nil {
		return err
	}
	if _, err := hostcmd.Output(hostcmd.InDir(exec.CommandContext(ctx, "node", "--no-warnings", script, p.Adapter), app)); err != nil {
		return fmt.Errorf("%s through the %s adapter: %w", p.Module, p.Adapter, err)
	}
	return nil
}

// jsSources are the probe's source files (not tests, versions or installed modules).
func jsSources(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (d.Name() == versionsDir || d.Name() == "test" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".js") && !strings.HasSuffix(p, ".test.js") {
			files = append(files, p)
		}
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s: no probe sources", root)
	}
	return files, err
}

// writeTreeLayer writes the tree at dir as a gzip-compressed layer under prefix: root
// owned, mtime 0, modes 0755/0644, in lexical order, so the same files give the same
// digest. npm's hidden lockfile (node_modules/.package-lock.json, a cache of its own) is
// left out.
func writeTreeLayer(dir, prefix, dst string) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := path.Join(prefix, filepath.ToSlash(rel))
		if rel == filepath.Join("node_modules", ".package-lock.json") {
			return nil
		}
		h := &tar.Header{Name: name, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, target, 0o777
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, info.Size(), 0o644
			if info.Mode()&0o111 != 0 {
				h.Mode = 0o755
			}
		default:
			return fmt.Errorf("%s: not a file, directory or symlink", p)
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// jsInputHash covers everything that determines a JavaScript probe's app layer and
// image: the probe's sources, the version's npm files, the adapter, npm's version and
// arguments, the base layer and the image recipe. Files are named relative to
// JSProbeDir, so a checkout and an unpacked tree give the same hash.
func jsInputHash(repoRoot string, p Probe, env *jsEnv) (string, error) {
	h := cache.NewHasher()
	field := h.Field
	field("language", []byte(LanguageJS))
	field("package", []byte(p.Module))
	field("adapter", []byte(p.Adapter))
	field("npm", []byte(env.npm))
	field("npm-args", []byte(strings.Join(npmArgs, "\x00")))
	field("base", []byte(env.base.Digest))
	field("image", []byte(jsImageRecipe))
	root := filepath.Join(repoRoot, JSProbeDir)
	files, err := jsSources(root)
	if err != nil {
		return "", err
	}
	if err := h.Files(root, files); err != nil {
		return "", err
	}
	if err := versionFiles(h, repoRoot, JSProbeDir, p, PackageFile, LockFile); err != nil {
		return "", err
	}
	return h.Sum(), nil
}
