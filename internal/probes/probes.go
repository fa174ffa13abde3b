// Package probes builds the probe matrix: one static binary and one FROM scratch image
// per client-go version listed in apps/probe/versions.json, and one Node.js image per
// @kubernetes/client-node version listed in apps/probe-js/versions.json (js.go); and, on
// demand, the same for versions neither lists (ondemand.go). Builds
// are keyed by a hash of their inputs, so a second run reuses binaries and layers from
// the cache and images from docker.
//
// The probe is package apps/probe of the root module; each version is built from the
// root with -modfile=apps/probe/versions/<label>/probe.mod (beside it probe.sum, which
// the go command reads as that file's go.sum), so the root go.mod is never used for it.
// The module files are not called go.mod so that the versions stay inside the root
// module (go install …@version, go:embed).
package probes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/cache"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
)

// Probe is one entry of apps/probe/versions.json (Go) or apps/probe-js/versions.json
// (JavaScript, see js.go).
type Probe struct {
	Label string `json:"label"` // client-go release tag, or js-<client-node version>; also the image tag
	// Module is the exact k8s.io/client-go module version pinned, or for JavaScript the
	// npm spec @kubernetes/client-node@<version> (never mistaken for a client-go version).
	Module string   `json:"module"`
	Tags   []string `json:"tags"` // build tags selecting API-era files (Go)
	Note   string   `json:"note"`
	// K8sRelease is the Kubernetes minor this client-go release belongs to (client-go's
	// compatibility matrix), for reading reports; verdicts never depend on it. Empty for
	// JavaScript.
	K8sRelease string `json:"k8sRelease"`
	// Language is LanguageGo or LanguageJS; set by Load, never read from a matrix file.
	Language string `json:"-"`
	// Adapter is the JavaScript probe's client-node API era (request or fetch), its
	// counterpart of Tags.
	Adapter string `json:"-"`
	// Unpinned is a version no versions.json lists, built on demand: its module (Go) or
	// npm (JavaScript) files are generated into the cache (ondemand.go).
	Unpinned bool `json:"-"`
	// dir holds an unpinned probe's generated files, once resolved.
	dir string
}

const (
	// ProbeDir is the probe package, relative to the repository root.
	ProbeDir    = "apps/probe"
	matrixFile  = "versions.json"
	versionsDir = "versions"
	// ModFile and SumFile are each version's module files in versions/<label>/.
	ModFile      = "probe.mod"
	SumFile      = "probe.sum"
	clientGoPath = find.ClientGoPath
	inputsLabel  = docker.InputsLabel
)

var (
	// A docker tag and a single path element at once.
	labelRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	tagRE   = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

// Load reads and validates the probe matrix under repoRoot: the Go probes of
// apps/probe/versions.json, then the JavaScript probes of apps/probe-js/versions.json,
// each in file order (oldest first; the last of each language is its newest). Every Go
// entry needs versions/<label>/probe.mod and probe.sum, every JavaScript entry its
// package.json and package-lock.json. Labels are unique across both.
func Load(repoRoot string) ([]Probe, error) {
	all, err := loadGo(repoRoot)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range all {
		seen[p.Label] = true
	}
	js, err := loadJS(repoRoot, seen)
	if err != nil {
		return nil, err
	}
	return append(all, js...), nil
}

// OfLanguage returns the probes of one language, in matrix order.
func OfLanguage(all []Probe, language string) []Probe {
	var out []Probe
	for _, p := range all {
		if p.Language == language {
			out = append(out, p)
		}
	}
	return out
}

// readMatrix decodes a versions.json, refusing fields it does not know (a typo would
// otherwise silently drop a setting).
func readMatrix(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func loadGo(repoRoot string) ([]Probe, error) {
	path := filepath.Join(repoRoot, ProbeDir, matrixFile)
	var all []Probe
	if err := readMatrix(path, &all); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no probes", path)
	}
	seen := map[string]bool{}
	for i, p := range all {
		switch {
		case !labelRE.MatchString(p.Label) || strings.HasPrefix(p.Label, JSLabelPrefix):
			return nil, fmt.Errorf("%s: entry %d: label %q is not a valid image tag without the JavaScript prefix %s", path, i, p.Label, JSLabelPrefix)
		case seen[p.Label]:
			return nil, fmt.Errorf("%s: label %q listed twice", path, p.Label)
		case !semver.IsValid(p.Module):
			return nil, fmt.Errorf("%s: %s: module %q is not a module version", path, p.Label, p.Module)
		}
		for _, t := range p.Tags {
			if !tagRE.MatchString(t) {
				return nil, fmt.Errorf("%s: %s: bad build tag %q", path, p.Label, t)
			}
		}
		for _, f := range []string{ModFile, SumFile} {
			if _, err := os.Stat(filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, f)); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, p.Label, err)
			}
		}
		seen[p.Label] = true
		all[i].Language = LanguageGo
	}
	return all, nil
}

// Select picks probes by spec: "all", "go" or "js" (every probe of one language), or a
// comma-separated list of labels of either language (in that order). A label the matrix
// does not pin is a version to build on demand (see Unpinned): a client-go module version
// or js-<client-node version>; a client-go version that is a pinned probe's module picks
// that probe.
func Select(all []Probe, spec string) ([]Probe, error) {
	switch strings.TrimSpace(spec) {
	case "all":
		return all, nil
	case "go":
		return OfLanguage(all, LanguageGo), nil
	case "js":
		return OfLanguage(all, LanguageJS), nil
	}
	byLabel := map[string]Probe{}
	var known []string
	for _, p := range all {
		byLabel[p.Label] = p
		known = append(known, p.Label)
	}
	for _, p := range OfLanguage(all, LanguageGo) {
		if _, ok := byLabel[p.Module]; !ok && p.Module != "" {
			byLabel[p.Module] = p
		}
	}
	var out []Probe
	for _, l := range strings.Split(spec, ",") {
		l = strings.TrimSpace(l)
		p, ok := byLabel[l]
		if !ok {
			var err error
			if p, err = unpinned(l); err != nil {
				return nil, fmt.Errorf("probe %q: %w; pinned: all, go, js, %s", l, err, strings.Join(known, ", "))
			}
		}
		if !slices.ContainsFunc(out, func(q Probe) bool { return q.Label == p.Label }) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ImageName is the docker image of a probe.
func ImageName(label string) string { return "satoken/probe:" + label }

// BuildInput says what to build and where to cache binaries.
type BuildInput struct {
	RepoRoot string
	Probes   []Probe
	CacheDir string
	Log      *phase.Recorder
}

// Built is one probe ready to run.
type Built struct {
	Probe     Probe
	Binary    string // Go: the static probe binary
	Image     string
	InputHash string
	// Layers are a JavaScript probe's image layers (gzip-compressed tars): the Node.js
	// base, then the app.
	Layers []string
	NodeJS string // JavaScript: Debian's nodejs package version in the base layer
}

// imageRecipe names the recipe of Built.OCI for the input hash; change it with the recipe.
const imageRecipe = "oci: FROM scratch, /probe 0755, USER 65534:65534, ENTRYPOINT /probe, labels"

// goBuildArgs is the build recipe (before -o), run in the repository root with the
// module file modFile; part of the input hash (with the pinned place of the module file,
// see inputHash).
func goBuildArgs(p Probe, modFile string) []string {
	args := []string{"build", "-modfile=" + filepath.ToSlash(modFile), "-trimpath", "-buildvcs=false"}
	if len(p.Tags) > 0 {
		args = append(args, "-tags", strings.Join(p.Tags, ","))
	}
	return append(args, "-ldflags", "-s -w -X main.buildLabel="+p.Label)
}

// goBuildEnv makes the binary static and the build use only the pinned module file.
var goBuildEnv = gocmd.Pinned

// Build builds (or reuses) each probe's binary and image, after resolving the unpinned
// ones (generating their files).
func Build(ctx context.Context, in BuildInput) ([]Built, error) {
	if in.Log == nil {
		in.Log = &phase.Recorder{} // prints nothing
	}
	tools := &buildTools{}
	// Unpinned versions first: one that cannot be built fails before any image is made.
	probes, err := resolveUnpinned(ctx, in, tools)
	if err != nil {
		return nil, err
	}
	var out []Built
	for _, p := range probes {
		var b Built
		var err error
		switch {
		case p.IsJS():
			var js *jsEnv
			if js, err = tools.jsBase(ctx, in); err == nil {
				b, err = buildJS(ctx, in, p, js)
			}
		default:
			var goVersion string
			if goVersion, err = tools.goVersion(ctx); err == nil {
				b, err = buildOne(ctx, in, p, goVersion)
			}
		}
		if err != nil {
			return out, fmt.Errorf("probe %s: %w", p.Label, err)
		}
		out = append(out, b)
	}
	docker.PruneDangling(ctx)
	return out, nil
}

func buildOne(ctx context.Context, in BuildInput, p Probe, goVersion string) (Built, error) {
	hash, err := inputHash(in.RepoRoot, p, goVersion)
	if err != nil {
		return Built{}, err
	}
	b := Built{Probe: p, Image: ImageName(p.Label), InputHash: hash,
		Binary: filepath.Join(in.CacheDir, "probes", p.Label+"-"+hash, "probe")}
	if _, err := os.Stat(b.Binary); err == nil {
		in.Log.Printf("probe %s: binary cached (%s)", p.Label, hash)
	} else {
		err := in.Log.Run(fmt.Sprintf("go build probe %s (client-go %s, tags %q)", p.Label, p.Module, strings.Join(p.Tags, ",")), func() error {
			return goBuild(ctx, in.RepoRoot, p, b.Binary)
		})
		if err != nil {
			return b, err
		}
	}
	// Checked on cached binaries too: a wrong client-go would invalidate every result.
	if v, err := ClientGoVersion(b.Binary); err != nil {
		return b, err
	} else if v != p.Module {
		return b, fmt.Errorf("%s links k8s.io/client-go %s, want %s", b.Binary, v, p.Module)
	}
	if docker.UpToDate(ctx, b.Image, hash) {
		in.Log.Printf("probe %s: image %s up to date", p.Label, b.Image)
		return b, nil
	}
	return b, in.Log.Run("docker load "+b.Image, func() error { return dockerLoad(ctx, b) })
}

// goBuild writes the binary next to its final path and renames it, so an interrupted
// build never leaves a binary that looks cached.
func goBuild(ctx context.Context, repoRoot string, p Probe, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	// The go command finds the module root by its go.mod (a checkout's, or the stub of an
	// unpacked tree) but reads only -modfile.
	args := append(goBuildArgs(p, versionFile(repoRoot, ProbeDir, p, ModFile)), "-o", tmp, "./"+ProbeDir)
	if _, err := gocmd.Run(ctx, repoRoot, goBuildEnv, args...); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// dockerLoad puts the probe's image into the local engine (for `satoken scan` and
// `docker run`).
func dockerLoad(ctx context.Context, b Built) error {
	img, err := b.OCI()
	if err != nil {
		return err
	}
	return docker.LoadImage(ctx, b.Image, img)
}

// inputHash covers everything that determines a probe binary and image: the probe's
// non-test Go sources, the version's module files, the build recipe and the Go version.
// Files are named relative to ProbeDir, and the module files by their place among the
// pinned ones (versions/<label>/, wherever a generated one lies), so a checkout and the
// tree a satoken binary unpacks (internal/bundle) give the same hash and share images.
func inputHash(repoRoot string, p Probe, goVersion string) (string, error) {
	h := cache.NewHasher()
	field := h.Field
	field("go", []byte(goVersion))
	field("module", []byte(p.Module))
	pinnedModFile := filepath.Join(ProbeDir, versionsDir, p.Label, ModFile)
	field("build", []byte(strings.Join(goBuildArgs(p, pinnedModFile), "\x00")+"\x00"+strings.Join(goBuildEnv, "\x00")))
	field("image", []byte(imageRecipe))
	root := filepath.Join(repoRoot, ProbeDir)
	files, err := goSources(root)
	if err != nil {
		return "", err
	}
	if err := h.Files(root, files); err != nil {
		return "", err
	}
	if err := versionFiles(h, repoRoot, ProbeDir, p, ModFile, SumFile); err != nil {
		return "", err
	}
	return h.Sum(), nil
}

// goSources are the probe's non-test Go files, in lexical order (WalkDir's).
func goSources(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == versionsDir || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

// versionFile is one of a probe's version files (module or npm files) in the probe
// directory dir (ProbeDir or JSProbeDir): versions/<label>/name when pinned, else the
// generated one.
func versionFile(repoRoot, dir string, p Probe, name string) string {
	if p.dir != "" {
		return filepath.Join(p.dir, name)
	}
	return filepath.Join(repoRoot, dir, versionsDir, p.Label, name)
}

// ClientGoVersion reads which k8s.io/client-go version a Go binary links, with the build
// info reader `satoken scan` uses: a replaced module reports its replacement's version.
func ClientGoVersion(binary string) (string, error) {
	f, err := find.ClientGo(binary)
	if err != nil {
		return "", err
	}
	if f.ClientGo == nil {
		return "", errors.New(binary + " does not link " + clientGoPath)
	}
	return f.ClientGoVersion(), nil
}

// versionFiles adds a probe's version files as versions/<label>/<name>, pinned or
// generated alike.
func versionFiles(h cache.Hasher, repoRoot, dir string, p Probe, names ...string) error {
	for _, name := range names {
		if err := h.File(filepath.Join(versionsDir, p.Label, name), versionFile(repoRoot, dir, p, name)); err != nil {
			return err
		}
	}
	return nil
}
