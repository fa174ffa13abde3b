package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// Source is a local Kubernetes tree (e.g. a contributor's branch under review) to build
// the node image from instead of a published release.
type Source struct {
	Dir string // absolute
	// LocalStaging: a checkout, whose staging modules (k8s.io/api, ...) are built from its
	// staging/src; otherwise an unpacked k8s.io/kubernetes module, which has no staging/
	// and takes them from the tags published with Release.
	LocalStaging bool
	// Version is stamped into the binaries and /kind/version and tags the image.
	Version string
	// Release is the published version the tree is (based on): v1.34.4, v1.35.0-alpha.1.
	// It names the staging tags of a module tree; its minor picks the node's settings.
	Release string
	// VersionFrom says how Version was found, for progress output.
	VersionFrom string
}

// Kind says which of the two layouts the tree has.
func (s *Source) Kind() string {
	if s.LocalStaging {
		return "Kubernetes checkout (staging modules from its staging/src)"
	}
	staging, _ := stagingVersion(s.Release)
	return "unpacked k8s.io/kubernetes module without staging/ (staging modules from their published " + staging + " tags)"
}

// OpenSource checks that dir is a Kubernetes tree, tells which layout it has and which
// version it is; version (--k8s-source-version) overrides what the tree says. All of it
// is cheap, so a bad directory fails before any build starts.
func OpenSource(ctx context.Context, dir, version string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--k8s-source %s: not a directory", dir)
	}
	gomod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("--k8s-source %s is not a Kubernetes source tree: %w", dir, err)
	}
	s := &Source{Dir: abs}
	if s.LocalStaging, err = detectLayout(abs, gomod); err != nil {
		return nil, fmt.Errorf("--k8s-source %s: %w", dir, err)
	}
	const hint = "; give it with --k8s-source-version (e.g. v1.34.4, the release the tree is based on)"
	raw, from := version, "--k8s-source-version"
	if raw == "" {
		if raw, from, err = treeVersion(ctx, abs, gomod); err != nil {
			return nil, fmt.Errorf("--k8s-source %s: %w%s", dir, err, hint)
		}
	}
	if s.Version, s.Release, err = sourceVersion(raw); err != nil {
		if version == "" {
			err = fmt.Errorf("%w%s", err, hint)
		}
		return nil, fmt.Errorf("--k8s-source %s: version from %s: %w", dir, from, err)
	}
	s.VersionFrom = fmt.Sprintf("%s from %s", raw, from)
	return s, nil
}

// detectLayout reads the staging replaces of a k8s.io/kubernetes go.mod: all their
// directories present is a checkout, none is an unpacked module (module zips leave out
// nested modules).
func detectLayout(dir string, gomod []byte) (localStaging bool, err error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return false, fmt.Errorf("go.mod: %w", err)
	}
	if f.Module == nil || f.Module.Mod.Path != "k8s.io/kubernetes" {
		return false, fmt.Errorf("not a Kubernetes source tree: go.mod is not module k8s.io/kubernetes")
	}
	var present, missing []string
	for _, r := range f.Replace {
		if !strings.HasPrefix(r.New.Path, "./staging/") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, r.New.Path, "go.mod")); err == nil {
			present = append(present, r.New.Path)
		} else {
			missing = append(missing, r.New.Path)
		}
	}
	switch {
	case len(present)+len(missing) == 0:
		return false, fmt.Errorf("go.mod has no ./staging replaces; unsupported layout")
	case len(present) > 0 && len(missing) > 0:
		return false, fmt.Errorf("staging/ is incomplete: %s present, %s missing", present[0], missing[0])
	}
	return len(present) > 0, nil
}

// treeVersion finds the version of the tree at dir: git describe in a checkout, else the
// module cache's directory name, else the tree's CHANGELOG confirmed by its go.mod.
func treeVersion(ctx context.Context, dir string, gomod []byte) (version, from string, err error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		out, err := hostcmd.Output(exec.CommandContext(ctx, "git", "-C", dir, "describe", "--tags", "--dirty"))
		if err != nil {
			return "", "", fmt.Errorf("a git checkout, but git describe cannot tell its version (no tags fetched?): %w", err)
		}
		return out, "git describe --tags --dirty", nil
	}
	if v, ok := strings.CutPrefix(filepath.Base(dir), "kubernetes@"); ok {
		return v, "the module cache's directory name", nil
	}
	return changelogVersion(ctx, dir, gomod)
}

// changelogVersion names the release an unpacked module tree copied out of the module
// cache is: a release's tree lists the releases before it in CHANGELOG/CHANGELOG-1.MINOR.md
// (its own entry is written after the tag), so it is the next patch after the newest
// listed, provided that release's published go.mod is the tree's.
func changelogVersion(ctx context.Context, dir string, gomod []byte) (version, from string, err error) {
	notGit := "not a git checkout, not named kubernetes@<version>"
	file, newest, err := newestChangelogRelease(filepath.Join(dir, "CHANGELOG"))
	if err != nil {
		return "", "", fmt.Errorf("%s, and %w", notGit, err)
	}
	var minor, patch int
	if _, err := fmt.Sscanf(newest, "v1.%d.%d", &minor, &patch); err != nil || newest != fmt.Sprintf("v1.%d.%d", minor, patch) {
		return "", "", fmt.Errorf("%s, and %s's newest release %s is not a patch release", notGit, file, newest)
	}
	next := fmt.Sprintf("v1.%d.%d", minor, patch+1)
	published, err := publishedGoMod(ctx, "k8s.io/kubernetes", next)
	if err != nil {
		return "", "", fmt.Errorf("%s, and %s after %s's newest release is not published: %w", notGit, next, file, err)
	}
	if string(published) != string(gomod) {
		return "", "", fmt.Errorf("%s, and its go.mod differs from that of %s (the release after %s's newest, %s)", notGit, next, file, newest)
	}
	return next, fmt.Sprintf("%s (newest release %s) and go.mod identical to the published %s's", file, newest, next), nil
}

var (
	changelogFileRE  = regexp.MustCompile(`^CHANGELOG-1\.(\d+)\.md$`)
	changelogEntryRE = regexp.MustCompile(`(?m)^- \[(v1\.\d+\.\d+[^\]]*)\]`)
)

// newestChangelogRelease returns the newest minor's changelog file and its first entry.
func newestChangelogRelease(dir string) (file, release string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("has no CHANGELOG directory")
	}
	best := -1
	for _, e := range entries {
		if m := changelogFileRE.FindStringSubmatch(e.Name()); m != nil {
			if minor, _ := strconv.Atoi(m[1]); minor > best {
				best, file = minor, e.Name()
			}
		}
	}
	if file == "" {
		return "", "", fmt.Errorf("has no CHANGELOG/CHANGELOG-1.MINOR.md")
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", "", err
	}
	m := changelogEntryRE.FindSubmatch(data)
	if m == nil {
		return "", "", fmt.Errorf("%s lists no release", file)
	}
	return file, string(m[1]), nil
}

// publishedGoMod reads a module version's go.mod through the module proxy (go list
// fetches the .mod file only, never the module zip).
var publishedGoMod = func(ctx context.Context, path, version string) ([]byte, error) {
	m, err := gocmd.Published(ctx, path, version)
	if err != nil {
		return nil, err
	}
	if m.GoMod == "" {
		return nil, fmt.Errorf("go list -m %s@%s: no go.mod", path, version)
	}
	return os.ReadFile(m.GoMod)
}

// releaseRE is the published-release prefix of a version: v1.34.4, v1.35.0-alpha.1.
var releaseRE = regexp.MustCompile(`^v1\.\d+\.\d+(-(alpha|beta|rc)\.\d+)?`)

// sourceVersion turns what git describe (or the user) says into the version stamped into
// the binaries and naming the image: semver without build metadata ('+' becomes '-'),
// which is also a docker tag. A version naming a bare release gets "-src", so a source
// build never takes over the release's image tag.
func sourceVersion(raw string) (version, release string, err error) {
	v := strings.ReplaceAll(strings.TrimSpace(raw), "+", "-")
	release = releaseRE.FindString(v)
	if release == "" || !semver.IsValid(v) {
		return "", "", fmt.Errorf("%q is not a Kubernetes version like v1.34.4 or v1.35.0-alpha.1-123-gabcdef-dirty", raw)
	}
	if v == release {
		v += "-src"
	}
	if len(v) > 128 {
		return "", "", fmt.Errorf("%q is too long for a docker tag", raw)
	}
	return v, release, nil
}

// skipInTree says which directories of a source tree are no build input: VCS data and
// build output (names starting with '.' or '_', which go build ignores too) and vendor/,
// as the build resolves dependencies from go.mod and go.sum.
func skipInTree(rel string, d fs.DirEntry) bool {
	name := d.Name()
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || rel == "vendor"
}

// treeHash is a content hash of the build inputs under a source tree.
type treeHash struct {
	Hash    string
	Files   int
	Bytes   int64
	Elapsed time.Duration
}

// hashSource hashes the relative path and content of every input file under dir (tests
// are no input of go build), reading files in parallel: a full checkout has tens of
// thousands.
func hashSource(dir string) (treeHash, error) {
	start := time.Now()
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir():
			if rel != "." && skipInTree(rel, d) {
				return filepath.SkipDir
			}
		case d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0:
			if !strings.HasSuffix(path, "_test.go") {
				paths = append(paths, rel)
			}
		}
		return nil
	})
	if err != nil {
		return treeHash{}, err
	}
	sums := make([]string, len(paths))
	sizes := make([]int64, len(paths))
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for i := range next {
				sums[i], sizes[i], errs[i] = hashEntry(filepath.Join(dir, paths[i]))
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return treeHash{}, err
	}
	all := sha256.New()
	th := treeHash{Files: len(paths)}
	for i, p := range paths {
		fmt.Fprintf(all, "%s\x00%s\n", filepath.ToSlash(p), sums[i])
		th.Bytes += sizes[i]
	}
	th.Hash = hex.EncodeToString(all.Sum(nil))[:12]
	th.Elapsed = time.Since(start)
	return th, nil
}

// hashEntry hashes a file's content, or a symlink's target.
func hashEntry(path string) (sum string, size int64, err error) {
	h := sha256.New()
	if target, err := os.Readlink(path); err == nil {
		h.Write([]byte("symlink:" + target))
		return hex.EncodeToString(h.Sum(nil)), 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	size, err = io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), size, err
}

// pruneSourceBinaries removes the binaries of other source builds: each is ~600 MB and a
// contributor's every edit makes one.
func pruneSourceBinaries(kubeDir, keep string) {
	entries, _ := os.ReadDir(kubeDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), sourceBinPrefix) && e.Name() != keep {
			_ = os.RemoveAll(filepath.Join(kubeDir, e.Name()))
		}
	}
}

// sourceBinPrefix starts the binaries cache directories of source builds (release
// builds use the bare version).
const sourceBinPrefix = "src-"
