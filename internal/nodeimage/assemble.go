package nodeimage

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
)

// preloadScript starts containerd in the build container and imports the saved images into
// the k8s.io namespace without unpacking (no snapshotter mounts needed), as kind's own
// node-image builder does; containerd is stopped before the commit so its store is flushed.
const preloadScript = `set -eu
nohup containerd >/tmp/containerd.log 2>&1 &
for i in $(seq 1 30); do
  if [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1; then break; fi
  sleep 1
done
ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests /preload/images.tar >/dev/null
ctr --namespace=k8s.io images list -q
pkill containerd
while pgrep -x containerd >/dev/null; do sleep 0.2; done
rm -f /tmp/containerd.log
`

// kubeadmWait shadows /usr/bin/kubeadm on PATH. On cgroup v1 hosts kind only waits for the
// entrypoint's "detected cgroup v1" line, not for systemd, so `kubeadm init` can run before
// containerd listens and fail its CRI preflight check; this waits for the socket first.
const kubeadmWait = `#!/bin/sh
i=0
while [ ! -S /run/containerd/containerd.sock ] && [ "$i" -lt 120 ]; do sleep 0.5; i=$((i+1)); done
exec /usr/bin/kubeadm "$@"
`

// serviceGuard keeps pod traffic to Service IPs on the node: until kube-proxy has
// programmed a Service (or if it never does), a pod's packet to 10.96.x.y would otherwise
// follow the node's default route off the machine. kube-proxy's DNAT happens before the
// routing decision, so translated packets no longer match; a policy rule (not an iptables
// rule, which table rewrites at start-up can drop) makes the rest unreachable. The ranges
// are podSubnet/serviceSubnet in fixtures/kind.
const (
	serviceGuardUnit = "satoken-service-guard.service"
	serviceGuard     = `[Unit]
Description=Refuse pod traffic to Service IPs that kube-proxy has not translated
Before=containerd.service kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip rule add from 10.244.0.0/16 to 10.96.0.0/16 priority 90 unreachable

[Install]
WantedBy=multi-user.target
`
)

// assemble adds the node binaries to the base image, preloads the control-plane images
// into the node's containerd and commits the result as image, labelled with its inputs.
func (b *builder) assemble(ctx context.Context, binDir string, im kubeadmImages, image, hash string) error {
	ctxDir := filepath.Join(b.workDir, "node")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	for _, c := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		if err := fileutil.Copy(filepath.Join(binDir, c), filepath.Join(ctxDir, c), 0o755); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{"kubeadm-wait": kubeadmWait, serviceGuardUnit: serviceGuard} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o755); err != nil {
			return err
		}
	}
	// systemd stops on SIGRTMIN+3 (docker import cannot set STOPSIGNAL on the base).
	dockerfile := fmt.Sprintf(`FROM %s
STOPSIGNAL SIGRTMIN+3
COPY kubeadm kubelet kubectl crictl /usr/bin/
COPY kubeadm-wait /usr/local/bin/kubeadm
COPY %s /etc/systemd/system/
RUN systemctl enable %s && echo %s > /kind/version
`, b.baseImage, serviceGuardUnit, serviceGuardUnit, b.in.KubernetesVersion)
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	buildImage := "satoken/kind-node-build:" + hash
	if err := docker.Build(ctx, buildImage, ctxDir); err != nil {
		return err
	}
	defer docker.Remove(ctx, buildImage)

	refs := []string{string(im.Etcd), string(im.Pause)}
	for _, c := range im.Components {
		refs = append(refs, string(c))
	}
	return b.preloadCommit(ctx, preloadCommitInput{From: buildImage, Refs: refs, Image: image, Labels: map[string]string{inputsLabel: hash}})
}

// preloadCommitInput: a container of From gets Refs (images in the host's docker, removed
// from it afterwards) in its containerd and is committed as Image with Labels.
type preloadCommitInput struct {
	From   string
	Refs   []string
	Image  string
	Labels map[string]string
}

// preloadCommit imports images into a node's containerd the way the node will find them
// (kubeadm runs what is there under the expected names) and commits the node image. An
// image of the same name already in From is replaced.
func (b *builder) preloadCommit(ctx context.Context, in preloadCommitInput) error {
	preload := filepath.Join(b.workDir, "preload")
	if err := os.MkdirAll(preload, 0o755); err != nil {
		return err
	}
	b.log.Printf("saving %d control-plane images for preload", len(in.Refs))
	if err := docker.Save(ctx, filepath.Join(preload, "images.tar"), in.Refs...); err != nil {
		return err
	}
	// The images now live in the tarball; the host's docker does not need them.
	defer docker.Remove(ctx, in.Refs...)

	c := docker.Container{Name: "satoken-nodeimage-" + shortHash(in.Image+in.Labels[inputsLabel]), Image: in.From, Mounts: []string{preload + ":/preload:ro"}}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer docker.RemoveContainer(ctx, c.Name)
	listed, err := c.Exec(ctx, "bash", "-c", preloadScript)
	if err != nil {
		return fmt.Errorf("preload images: %w", err)
	}
	for _, r := range in.Refs {
		if !strings.Contains(listed, r) {
			return fmt.Errorf("image %s missing from the node's containerd after import; it has:\n%s", r, listed)
		}
	}
	b.log.Printf("committing %s", in.Image)
	changes := []string{`ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]`, `CMD []`}
	for _, k := range slices.Sorted(maps.Keys(in.Labels)) {
		changes = append(changes, fmt.Sprintf("LABEL %s=%s", k, in.Labels[k]))
	}
	return c.Commit(ctx, in.Image, changes...)
}
