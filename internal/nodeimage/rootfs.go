package nodeimage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

const (
	debianSuite = "bookworm"
	baseRepo    = "satoken/kind-base"
)

// rootfsPackages are what kind's base image installs plus what Debian splits out of it:
// Debian's containerd/runc replace kind's own builds, and Debian's CNI plugins replace
// kind's (ptp/host-local/portmap/loopback).
var rootfsPackages = []string{
	"systemd", "systemd-sysv", "dbus", "containerd", "runc",
	"conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
	"libseccomp2", "socat", "bash", "ca-certificates", "jq", "procps",
	"containernetworking-plugins",
}

// podSubnet must match the kind cluster's podSubnet (fixtures/kind); single node, so one /24.
const cniConfig = `{
  "cniVersion": "1.0.0",
  "name": "satoken",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

// rootfs makes the base image: a cached debootstrap tarball, customized with kind's
// node files, then imported into docker as b.baseImage.
func (b *builder) rootfs(ctx context.Context, in inputs) error {
	b.baseImage = baseRepo + ":" + in.baseHash()
	if have, _ := docker.ImageLabel(ctx, b.baseImage, inputsLabel); have == in.baseHash() {
		b.log.Printf("base image %s is up to date", b.baseImage)
		return nil
	}
	tarball, err := b.debootstrap(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.workDir, "rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := hostcmd.Output(exec.CommandContext(ctx, "tar", "--numeric-owner", "-xpf", tarball, "-C", dir)); err != nil {
		return err
	}
	if err := b.customize(ctx, dir, in.KindFilesDir); err != nil {
		return fmt.Errorf("customize rootfs: %w", err)
	}
	b.log.Printf("importing rootfs as %s", b.baseImage)
	_, err = hostcmd.Output(exec.CommandContext(ctx, "bash", "-c",
		`tar --numeric-owner -C "$1" -cf - . | docker import `+
			`--change 'ENV container=docker' `+
			`--change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' `+
			`--change "LABEL `+inputsLabel+`=$2" - "$3"`, "import", dir, in.baseHash(), b.baseImage))
	if err == nil {
		pruneOtherTags(ctx, baseRepo, b.baseImage)
	}
	return err
}

// pruneOtherTags removes superseded builds of repo (a new base makes the old one dead weight).
func pruneOtherTags(ctx context.Context, repo, keep string) {
	for _, img := range docker.Tags(ctx, repo) {
		if img != keep {
			docker.Remove(ctx, img)
		}
	}
}

// debootstrap returns the cached minbase rootfs tarball of the node (see Debootstrap).
func (b *builder) debootstrap(ctx context.Context) (string, error) {
	return Debootstrap(ctx, b.in.CacheDir, b.workDir, rootfsPackages, b.log)
}

// debianMirror reads the first Debian archive URI the host's apt uses, so the rootfs comes
// from wherever this machine is allowed to fetch packages.
func debianMirror() (string, error) {
	if m := os.Getenv("SATOKEN_DEBIAN_MIRROR"); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := mirrorFromSources(string(data)); m != "" {
			return m, nil
		}
	}
	return "", fmt.Errorf("no Debian mirror found in apt sources; set SATOKEN_DEBIAN_MIRROR")
}

func mirrorFromSources(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "URIs:":
			if !strings.Contains(f[1], "security") {
				return f[1]
			}
		case len(f) >= 3 && f[0] == "deb" && !strings.HasPrefix(f[1], "["):
			if !strings.Contains(f[1], "security") {
				return f[1]
			}
		}
	}
	return ""
}

// customize applies what kind's base image Dockerfile does, on Debian's packages.
func (b *builder) customize(ctx context.Context, root, kindFiles string) error {
	if err := copyTree(kindFiles, root); err != nil {
		return err
	}
	ctr := "ctr"
	if b.containerdDir != "" {
		// containerd 2 built from source: kind's unit starts /usr/local/bin/containerd, and
		// /usr/local/bin comes before Debian's /usr/bin (containerd 1.6) on every PATH, so
		// the shim and ctr found are the matching ones too.
		for _, c := range containerdCommands {
			if err := fileutil.Copy(filepath.Join(b.containerdDir, c), filepath.Join(root, "usr/local/bin", c), 0o755); err != nil {
				return err
			}
		}
		ctr = "/usr/local/bin/ctr"
	} else if err := os.Symlink("/usr/bin/containerd", filepath.Join(root, "usr/local/bin/containerd")); err != nil {
		// kind's units start /usr/local/bin/containerd; Debian installs it in /usr/bin.
		return err
	}
	if err := b.containerdConfig(filepath.Join(root, "etc/containerd/config.toml")); err != nil {
		return err
	}
	if b.containerdDir != "" {
		if err := b.checkContainerdConfig(ctx, root); err != nil {
			return err
		}
	}
	if err := criBaseSpec(ctx, root, ctr); err != nil {
		return err
	}
	// containerd's CRI looks for plugins in /opt/cni/bin.
	plugins, err := filepath.Glob(filepath.Join(root, "usr/lib/cni/*"))
	if err != nil || len(plugins) == 0 {
		return fmt.Errorf("no CNI plugins in rootfs usr/lib/cni")
	}
	if err := os.MkdirAll(filepath.Join(root, "opt/cni/bin"), 0o755); err != nil {
		return err
	}
	for _, p := range plugins {
		if err := os.Symlink("/usr/lib/cni/"+filepath.Base(p), filepath.Join(root, "opt/cni/bin", filepath.Base(p))); err != nil {
			return err
		}
	}
	for path, content := range map[string]string{
		"etc/cni/net.d/10-satoken.conflist": cniConfig,
		"etc/kubernetes/manifests/.keep":    "",
	} {
		if err := writeFile(filepath.Join(root, path), content, 0o644); err != nil {
			return err
		}
	}
	if b.in.SysResourceWorkaround {
		if err := fileutil.Copy(b.in.RuncWrapper, filepath.Join(root, nodeRuncWrapper), 0o755); err != nil {
			return err
		}
	}
	return systemdSetup(ctx, root)
}

// nodeRuncWrapper is where the CAP_SYS_RESOURCE wrapper lives inside the node.
const nodeRuncWrapper = "usr/local/bin/runc-nosysresource"

var sandboxImageLine = regexp.MustCompile(`sandbox_image = "[^"]*"`)

// containerdConfig edits kind's containerd config for this node: the pause image kubeadm
// wants, and (only without CAP_SYS_RESOURCE) the oom_score_adj restriction and runc wrapper.
func (b *builder) containerdConfig(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !sandboxImageLine.Match(data) {
		return fmt.Errorf("%s: no sandbox_image line (kind's containerd config changed?)", path)
	}
	cfg := sandboxImageLine.ReplaceAllString(string(data), `sandbox_image = "`+b.pauseImage+`"`)
	var edits [][2]string
	if b.in.SysResourceWorkaround {
		edits = append(edits,
			[2]string{"restrict_oom_score_adj = false", "restrict_oom_score_adj = true"},
			[2]string{"SystemdCgroup = true", "SystemdCgroup = true\n    BinaryName = \"/" + nodeRuncWrapper + "\""},
		)
	}
	for _, e := range edits {
		if !strings.Contains(cfg, e[0]) {
			return fmt.Errorf("%s: expected %q (kind's containerd config changed?)", path, e[0])
		}
		cfg = strings.ReplaceAll(cfg, e[0], e[1])
	}
	return os.WriteFile(path, []byte(cfg), 0o644)
}

// checkContainerdConfig has the node's containerd 2 load the edited config (kind's ships
// in the version 2 format, which containerd 2 migrates when it loads it) and checks that
// the settings this builder relies on survive the migration.
func (b *builder) checkContainerdConfig(ctx context.Context, root string) error {
	dump, err := hostcmd.Output(exec.CommandContext(ctx, "chroot", root, "/usr/local/bin/containerd", "--config", "/etc/containerd/config.toml", "config", "dump"))
	if err != nil {
		return fmt.Errorf("containerd cannot load its config: %w", err)
	}
	return checkContainerdDump(dump, b.pauseImage, b.in.SysResourceWorkaround)
}

// checkContainerdDump looks for the pause image (and, with the CAP_SYS_RESOURCE
// workaround, its two settings) in `containerd config dump` output (containerd 2.3.4 dumps
// the version 4 format with single-quoted strings).
func checkContainerdDump(dump, pauseImage string, workaround bool) error {
	dump = strings.ReplaceAll(dump, "'", `"`) // the dump may quote strings either way
	want := []string{`sandbox = "` + pauseImage + `"`}
	if workaround {
		want = append(want, "restrict_oom_score_adj = true", `BinaryName = "/`+nodeRuncWrapper+`"`)
	}
	for _, w := range want {
		if !strings.Contains(dump, w) {
			return fmt.Errorf("containerd's loaded config lacks %q; it is:\n%s", w, dump)
		}
	}
	return nil
}

// criBaseSpec writes the base OCI spec kind's containerd config points at: containerd's
// default spec plus kind's product-files hook, without rlimits.
func criBaseSpec(ctx context.Context, root, ctr string) error {
	out, err := hostcmd.Output(exec.CommandContext(ctx, "chroot", root, ctr, "oci", "spec"))
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(out), &spec); err != nil {
		return fmt.Errorf("ctr oci spec: %w", err)
	}
	process, _ := spec["process"].(map[string]any)
	delete(process, "rlimits")
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
		spec["hooks"] = hooks
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "etc/containerd/cri-base.json"), data, 0o644)
}

// systemdSetup trims boot to what a node needs and enables kind's units, as kind's base image does.
func systemdSetup(ctx context.Context, root string) error {
	for _, glob := range []string{
		"lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*",
		"lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*",
		"lib/systemd/system/basic.target.wants/*",
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
	} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(filepath.Join(root, "etc/systemd/journald.conf"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString("ReadKMsg=no\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if _, err := hostcmd.Output(exec.CommandContext(ctx, "chroot", root, "systemctl", "enable", "kubelet.service", "containerd.service", "undo-mount-hacks.service")); err != nil {
		return err
	}
	_, err = hostcmd.Output(exec.CommandContext(ctx, "chroot", root, "systemctl", "mask", "systemd-binfmt.service"))
	return err
}

// copyTree copies kind's images/base/files into the rootfs; scripts and the files under
// bin/ directories stay executable, the rest is 0644 as kind's Dockerfile sets.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(rel, "bin/") {
			mode = 0o755
		}
		return fileutil.Copy(path, target, mode)
	})
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}
