// Package probes builds the probe matrix: one static binary and one FROM scratch image
// per client-go version listed in apps/probe/versions.json. Builds are keyed by a hash
// of their inputs, so a second run reuses binaries from the cache and images from docker.
package probes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/scan"
)

// Probe is one entry of apps/probe/versions.json.
type Probe struct {
	Label  string   `json:"label"`  // client-go release tag; also the image tag
	Module string   `json:"module"` // exact k8s.io/client-go module version pinned
	Tags   []string `json:"tags"`   // build tags selecting API-era files
	Note   string   `json:"note"`
	// K8sRelease is the Kubernetes minor this client-go release belongs to (client-go's
	// compatibility matrix), for reading reports; verdicts never depend on it.
	K8sRelease string `json:"k8sRelease"`
}

const (
	// ProbeDir is the probe module, relative to the repository root.
	ProbeDir     = "apps/probe"
	matrixFile   = "versions.json"
	versionsDir  = "versions"
	clientGoPath = scan.ClientGoPath
	inputsLabel  = "satoken.inputs"
)

var (
	// A docker tag and a single path element at once.
	labelRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	tagRE   = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

// Load reads and validates apps/probe/versions.json under repoRoot, in file order
// (oldest first; the last entry is the newest, whose pins are the probe module's own).
func Load(repoRoot string) ([]Probe, error) {
	path := filepath.Join(repoRoot, ProbeDir, matrixFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var all []Probe
	if err := dec.Decode(&all); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no probes", path)
	}
	seen := map[string]bool{}
	for i, p := range all {
		switch {
		case !labelRE.MatchString(p.Label):
			return nil, fmt.Errorf("%s: entry %d: label %q is not a valid image tag", path, i, p.Label)
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
		for _, f := range []string{"go.mod", "go.sum"} {
			if _, err := os.Stat(filepath.Join(repoRoot, ProbeDir, versionsDir, p.Label, f)); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, p.Label, err)
			}
		}
		seen[p.Label] = true
	}
	return all, nil
}

// Select picks probes by spec: "all", or a comma-separated list of labels (in that order).
func Select(all []Probe, spec string) ([]Probe, error) {
	if strings.TrimSpace(spec) == "all" {
		return all, nil
	}
	byLabel := map[string]Probe{}
	var known []string
	for _, p := range all {
		byLabel[p.Label] = p
		known = append(known, p.Label)
	}
	var out []Probe
	for _, l := range strings.Split(spec, ",") {
		l = strings.TrimSpace(l)
		p, ok := byLabel[l]
		if !ok {
			return nil, fmt.Errorf("unknown probe %q; known: all, %s", l, strings.Join(known, ", "))
		}
		if !slices.ContainsFunc(out, func(q Probe) bool { return q.Label == l }) {
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
	Binary    string
	Image     string
	InputHash string
}

// dockerfile is the image recipe: the static binary alone, run as nobody.
const dockerfile = `FROM scratch
COPY probe /probe
USER 65534:65534
ENTRYPOINT ["/probe"]
`

// goBuildArgs is the build recipe (before -o); part of the input hash.
func goBuildArgs(p Probe) []string {
	args := []string{"build", "-modfile=" + filepath.ToSlash(filepath.Join(versionsDir, p.Label, "go.mod")), "-trimpath", "-buildvcs=false"}
	if len(p.Tags) > 0 {
		args = append(args, "-tags", strings.Join(p.Tags, ","))
	}
	return append(args, "-ldflags", "-s -w -X main.buildLabel="+p.Label)
}

// goBuildEnv makes the binary static and the build use only the pinned module file.
var goBuildEnv = []string{"CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly"}

// Build builds (or reuses) each probe's binary and image.
func Build(ctx context.Context, in BuildInput) ([]Built, error) {
	if in.Log == nil {
		in.Log = &phase.Recorder{} // prints nothing
	}
	goVersion, err := hostcmd.Output(exec.CommandContext(ctx, "go", "env", "GOVERSION"))
	if err != nil {
		return nil, err
	}
	var out []Built
	for _, p := range in.Probes {
		b, err := buildOne(ctx, in, p, goVersion)
		if err != nil {
			return out, fmt.Errorf("probe %s: %w", p.Label, err)
		}
		out = append(out, b)
	}
	docker.PruneDangling(ctx, inputsLabel)
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
	if cur, _ := docker.ImageLabel(ctx, b.Image, inputsLabel); cur == hash {
		in.Log.Printf("probe %s: image %s up to date", p.Label, b.Image)
		return b, nil
	}
	return b, in.Log.Run("docker build "+b.Image, func() error { return dockerBuild(ctx, b) })
}

// goBuild writes the binary next to its final path and renames it, so an interrupted
// build never leaves a binary that looks cached.
func goBuild(ctx context.Context, repoRoot string, p Probe, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	args := append(goBuildArgs(p), "-o", tmp, ".")
	if _, err := hostcmd.Output(hostcmd.InDir(exec.CommandContext(ctx, "go", args...), filepath.Join(repoRoot, ProbeDir), goBuildEnv...)); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

func dockerBuild(ctx context.Context, b Built) error {
	dir, err := os.MkdirTemp("", "satoken-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	if err := fileutil.Copy(b.Binary, filepath.Join(dir, "probe"), 0o755); err != nil {
		return err
	}
	// The classic builder needs no registry for FROM scratch (and no buildx plugin).
	_, err = hostcmd.Output(exec.CommandContext(ctx, "docker",
		"build", "-q", "-t", b.Image,
		"--label", inputsLabel+"="+b.InputHash,
		"--label", "satoken.probe.label="+b.Probe.Label,
		"--label", "satoken.probe.client-go="+b.Probe.Module,
		dir).SetEnv(append(os.Environ(), "DOCKER_BUILDKIT=0")...))
	return err
}

// inputHash covers everything that determines a probe binary and image: the probe's
// non-test Go sources, the version's module files, the build recipe and the Go version.
func inputHash(repoRoot string, p Probe, goVersion string) (string, error) {
	h := sha256.New()
	field := func(name string, data []byte) {
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	field("go", []byte(goVersion))
	field("module", []byte(p.Module))
	field("build", []byte(strings.Join(goBuildArgs(p), "\x00")+"\x00"+strings.Join(goBuildEnv, "\x00")))
	field("dockerfile", []byte(dockerfile))
	root := filepath.Join(repoRoot, ProbeDir)
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
	if err != nil {
		return "", err
	}
	files = append(files,
		filepath.Join(root, versionsDir, p.Label, "go.mod"),
		filepath.Join(root, versionsDir, p.Label, "go.sum"))
	for _, f := range files { // WalkDir order is lexical, so the list is stable
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, f)
		field("file "+filepath.ToSlash(rel), b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// ClientGoVersion reads which k8s.io/client-go version a Go binary links, with the build
// info reader `satoken scan` uses: a replaced module reports its replacement's version.
func ClientGoVersion(binary string) (string, error) {
	f, err := scan.ClientGo(binary)
	if err != nil {
		return "", err
	}
	if f.ClientGo == nil {
		return "", errors.New(binary + " does not link " + clientGoPath)
	}
	return f.ClientGoVersion(), nil
}
