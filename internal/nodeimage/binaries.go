package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// kubeCommands are the Kubernetes programs a kind node needs: the first three go into
// /usr/bin, the rest become FROM-scratch control-plane images.
var kubeCommands = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

// goBuildEnv builds static binaries; the Go build cache (shared with every other build on
// the machine) makes a second build of the same version take seconds.
var goBuildEnv = gocmd.Generated

// kubernetesBinaries builds kubeCommands into outDir unless a previous build of the same
// version left them there.
func (b *builder) kubernetesBinaries(ctx context.Context, outDir string) error {
	stamp := filepath.Join(outDir, ".complete")
	if _, err := os.Stat(stamp); err == nil {
		b.log.Printf("using cached Kubernetes binaries in %s", outDir)
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := b.buildKubernetes(ctx, kubernetesBuild{WorkDir: filepath.Join(b.workDir, "kubernetes"), OutDir: outDir, Commands: kubeCommands}); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

// kubernetesBuild says which commands of k8s.io/kubernetes to compile, where, and with
// which source files replaced (a go build -overlay file; "" for none).
type kubernetesBuild struct {
	WorkDir, OutDir string
	Commands        []string
	Overlay         string
	Expected        time.Duration // cold compile time on 2 idle cores; 0: the whole node's
}

// buildKubernetes compiles Kubernetes commands into OutDir: from the published module at
// the version, or from the source tree. k8s.io/kubernetes points its staging modules
// (k8s.io/api, ...) at ./staging paths, which do not exist in the module zip, so a
// throw-away module re-points them at their published v0.x.y tags (or at a checkout's
// staging/src).
func (b *builder) buildKubernetes(ctx context.Context, kb kubernetesBuild) error {
	workDir, outDir := kb.WorkDir, kb.OutDir
	v, release, src := b.in.KubernetesVersion, b.in.KubernetesVersion, b.in.Source
	var gomod []byte
	var err error
	from := ""
	if src != nil {
		release, from = src.Release, " from "+src.Dir
		gomod, err = os.ReadFile(filepath.Join(src.Dir, "go.mod"))
	} else {
		gomod, err = downloadGoMod(ctx, "k8s.io/kubernetes", v)
	}
	if err != nil {
		return err
	}
	mod, err := buildModule(gomod, release, src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(workDir, "go.mod"), mod, 0o644); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-ldflags", versionLDFlags(v, b.now), "-o", outDir + "/"}
	if kb.Overlay != "" {
		args = append(args, "-overlay", kb.Overlay)
	}
	for _, c := range kb.Commands {
		args = append(args, "k8s.io/kubernetes/cmd/"+c)
	}
	expected := kb.Expected
	if expected == 0 {
		expected = 9 * time.Minute // v1.34 on 2 idle cores; v1.37 took 26 min on 2 busy ones
		if minorOf(v) >= 35 {
			expected = 15 * time.Minute
		}
	}
	b.log.Printf("compiling %s at %s%s (cold: ~%s on 2 idle cores; cached: seconds)", strings.Join(kb.Commands, ", "), v, from, expected)
	defer b.log.Heartbeat("compiling Kubernetes "+v, expected)()
	_, err = gocmd.Run(ctx, workDir, goBuildEnv, args...)
	return err
}

// buildModule returns a go.mod requiring k8s.io/kubernetes@release with every staging
// replace of the upstream go.mod re-pointed to the matching published staging version;
// with a source tree, k8s.io/kubernetes is the tree, and so are the staging modules of a
// checkout.
func buildModule(upstreamGoMod []byte, release string, src *Source) ([]byte, error) {
	up, err := modfile.Parse("go.mod", upstreamGoMod, nil)
	if err != nil {
		return nil, fmt.Errorf("parse k8s.io/kubernetes go.mod: %w", err)
	}
	staging, err := stagingVersion(release)
	if err != nil {
		return nil, err
	}
	f := &modfile.File{}
	if err := f.AddModuleStmt("satoken.local/kubebuild"); err != nil {
		return nil, err
	}
	goVersion := "1.24.0"
	if up.Go != nil {
		goVersion = up.Go.Version
	}
	if err := f.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	if err := f.AddRequire("k8s.io/kubernetes", release); err != nil {
		return nil, err
	}
	if src != nil {
		if err := f.AddReplace("k8s.io/kubernetes", "", src.Dir, ""); err != nil {
			return nil, err
		}
	}
	n := 0
	for _, r := range up.Replace {
		if !strings.HasPrefix(r.New.Path, "./staging/") {
			continue
		}
		newPath, newVersion := r.Old.Path, staging
		if src != nil && src.LocalStaging {
			newPath, newVersion = filepath.Join(src.Dir, r.New.Path), ""
		}
		if err := f.AddReplace(r.Old.Path, "", newPath, newVersion); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("k8s.io/kubernetes %s go.mod has no ./staging replaces; unsupported layout", release)
	}
	f.Cleanup()
	return f.Format()
}

// stagingVersion maps v1.34.4 to v0.34.4 (v1.35.0-alpha.1 to v0.35.0-alpha.1), the tag
// scheme of the staging modules.
func stagingVersion(k8s string) (string, error) {
	if k8s == "" || releaseRE.FindString(k8s) != k8s {
		return "", fmt.Errorf("kubernetes version %q is not of the form v1.MINOR.PATCH", k8s)
	}
	return "v0." + strings.TrimPrefix(k8s, "v1."), nil
}

// versionLDFlags stamps the version kubeadm and kubelet report; without it they claim
// v0.0.0 and kubeadm refuses the kubelet.
func versionLDFlags(v string, now time.Time) string {
	var major, minor int
	_, _ = fmt.Sscanf(v, "v%d.%d", &major, &minor) // v was validated (ValidateVersion, sourceVersion)
	treeState := "clean"
	if strings.HasSuffix(v, "-dirty") { // a source tree with uncommitted changes
		treeState = "dirty"
	}
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			fmt.Sprintf("-X %s.gitVersion=%s", pkg, v),
			fmt.Sprintf("-X %s.gitMajor=%d", pkg, major),
			fmt.Sprintf("-X %s.gitMinor=%d", pkg, minor),
			fmt.Sprintf("-X %s.gitTreeState=%s", pkg, treeState),
			fmt.Sprintf("-X %s.buildDate=%s", pkg, now.UTC().Format("2006-01-02T15:04:05Z")),
		)
	}
	return strings.Join(flags, " ")
}

// buildEtcd compiles the etcd server at version into outDir/etcd.
func (b *builder) buildEtcd(ctx context.Context, version, outDir string) error {
	return b.goInstall(ctx, "etcd", "go.etcd.io/etcd/server/v3", version, "go.etcd.io/etcd/server/v3", filepath.Join(outDir, "etcd"))
}

// buildCrictl compiles crictl (`kind export logs` lists the node's images with it) at the
// cri-tools release matching the Kubernetes minor, or the newest older one the module
// proxy serves.
func (b *builder) buildCrictl(ctx context.Context, outDir string) error {
	candidates := crictlCandidates(b.in.KubernetesVersion)
	var errs []string
	for _, version := range candidates {
		if _, err := download(ctx, "sigs.k8s.io/cri-tools", version); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if version != candidates[0] {
			b.log.Printf("cri-tools %s is not available (%s); using %s", candidates[0], errs[0], version)
		}
		return b.goInstall(ctx, "crictl", "sigs.k8s.io/cri-tools", version, "sigs.k8s.io/cri-tools/cmd/crictl", filepath.Join(outDir, "crictl"))
	}
	return fmt.Errorf("no cri-tools release for %s: %s", b.in.KubernetesVersion, strings.Join(errs, "; "))
}

// containerdModule is the Go module containerd 2 is built from.
const containerdModule = "github.com/containerd/containerd/v2"

// containerdCommands go into the node's /usr/local/bin, ahead of Debian's on PATH.
var containerdCommands = []string{"containerd", "containerd-shim-runc-v2", "ctr"}

// containerdBuildTags leave out the snapshotters that need cgo or are never selected in a
// node (kind's base image builds with the same set).
const containerdBuildTags = "no_btrfs no_devmapper no_zfs"

// buildContainerd compiles containerdCommands at version into outDir unless a previous
// build left them there; static (CGO_ENABLED=0) like everything else in the node.
func (b *builder) buildContainerd(ctx context.Context, version, outDir string) error {
	stamp := filepath.Join(outDir, ".complete")
	if _, err := os.Stat(stamp); err == nil {
		b.log.Printf("using cached containerd binaries in %s", outDir)
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	workDir := filepath.Join(b.workDir, "containerd")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(workDir, "go.mod"), containerdBuildModule(version), 0o644); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-tags", containerdBuildTags, "-ldflags", containerdLDFlags(version), "-o", outDir + "/"}
	for _, c := range containerdCommands {
		args = append(args, containerdModule+"/cmd/"+c)
	}
	b.log.Printf("compiling containerd %s (%s; cold: ~4 min on 2 cores)", version, strings.Join(containerdCommands, ", "))
	defer b.log.Heartbeat("compiling containerd "+version, 4*time.Minute)()
	if _, err := gocmd.Run(ctx, workDir, goBuildEnv, args...); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func containerdBuildModule(version string) []byte {
	return []byte(fmt.Sprintf("module satoken.local/containerdbuild\n\ngo 1.24\n\nrequire %s %s\n", containerdModule, version))
}

// containerdLDFlags stamp the version `containerd --version` and the CRI report, as
// containerd's Makefile does (it would say 2.x.y+unknown otherwise).
func containerdLDFlags(version string) string {
	return fmt.Sprintf("-s -w -X %[1]s/version.Version=%[2]s -X %[1]s/version.Revision=module-%[2]s", containerdModule, version)
}

// goInstall builds one command of a module at version through a throw-away module, so
// the module's own go.mod (not ours) decides its dependencies.
func (b *builder) goInstall(ctx context.Context, name, module, version, pkg, out string) error {
	workDir := filepath.Join(b.workDir, name)
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	mod := fmt.Sprintf("module satoken.local/%sbuild\n\ngo 1.24\n\nrequire %s %s\n", name, module, version)
	if err := os.WriteFile(filepath.Join(workDir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	b.log.Printf("compiling %s %s", name, version)
	_, err := gocmd.Run(ctx, workDir, goBuildEnv, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	return err
}

// buildPause compiles the pause container's C source shipped in the k8s.io/kubernetes
// module (or the source tree).
func (b *builder) buildPause(ctx context.Context, version, outDir string) error {
	var dir string
	var err error
	if b.in.Source != nil {
		dir = b.in.Source.Dir
	} else if dir, err = moduleDir(ctx, "k8s.io/kubernetes", b.in.KubernetesVersion); err != nil {
		return err
	}
	src := filepath.Join(dir, "build", "pause", "linux", "pause.c")
	b.log.Printf("compiling pause from %s", src)
	_, err = hostcmd.Output(exec.CommandContext(ctx, "gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION="+version, "-o", filepath.Join(outDir, "pause"), src))
	return err
}

func download(ctx context.Context, path, version string) (gocmd.Module, error) {
	d, err := gocmd.Download(ctx, gocmd.Outside(), path, version)
	if err != nil {
		return d, fmt.Errorf("download %s@%s: %w", path, version, err)
	}
	return d, nil
}

func downloadGoMod(ctx context.Context, path, version string) ([]byte, error) {
	d, err := download(ctx, path, version)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(d.GoMod)
}

func moduleDir(ctx context.Context, path, version string) (string, error) {
	d, err := download(ctx, path, version)
	return d.Dir, err
}
