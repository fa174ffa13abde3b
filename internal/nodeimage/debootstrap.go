package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// DebianSuite is the Debian release every rootfs is debootstrapped from.
const DebianSuite = debianSuite

// Debootstrap returns a tarball of a minbase Debian rootfs with packages (and their
// dependencies), cached in cacheDir/rootfs by the package list. The first call runs
// debootstrap from the host's apt mirror in a directory under workDir (~3 min) and
// drops apt's package caches. The node image uses it, and so does internal/probes for
// the Node.js runtime of the JavaScript probes.
func Debootstrap(ctx context.Context, cacheDir, workDir string, packages []string, log *phase.Recorder) (string, error) {
	if log == nil {
		log = &phase.Recorder{}
	}
	dir := filepath.Join(cacheDir, "rootfs")
	tarball := filepath.Join(dir, fmt.Sprintf("%s-%s.tar", debianSuite, shortHash(strings.Join(packages, ","))))
	if _, err := os.Stat(tarball); err == nil {
		log.Printf("using cached rootfs %s", tarball)
		return tarball, nil
	}
	mirror, err := debianMirror()
	if err != nil {
		return "", err
	}
	target := filepath.Join(workDir, "debootstrap")
	log.Printf("debootstrap %s (minbase + %d packages) from the host's apt mirror (~3 min)", debianSuite, len(packages))
	stop := log.Heartbeat("debootstrapping "+debianSuite, 3*time.Minute)
	defer stop()
	if _, err := hostcmd.Output(exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(packages, ","), debianSuite, target, mirror)); err != nil {
		return "", err
	}
	// Package caches only bloat the image.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"} {
		matches, _ := filepath.Glob(filepath.Join(target, glob))
		for _, m := range matches {
			_ = os.RemoveAll(m)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := tarball + ".tmp"
	if _, err := hostcmd.Output(exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", target, "-cf", tmp, ".")); err != nil {
		return "", err
	}
	return tarball, os.Rename(tmp, tarball)
}
