package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// imageRef is one image kubeadm will run, e.g. registry.k8s.io/etcd:3.6.5-0.
type imageRef string

func (r imageRef) tag() string {
	s := string(r)
	return s[strings.LastIndex(s, ":")+1:]
}

func (r imageRef) name() string {
	s := string(r)
	s = s[:strings.LastIndex(s, ":")]
	return s[strings.LastIndex(s, "/")+1:]
}

// kubeadmImages are the images `kubeadm config images list` names for a version; asking
// the built kubeadm keeps etcd/pause versions in step with Kubernetes without a table.
type kubeadmImages struct {
	Components []imageRef // kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy
	Etcd       imageRef
	Pause      imageRef
}

func listKubeadmImages(ctx context.Context, binDir, version string) (kubeadmImages, error) {
	out, err := hostcmd.Output(exec.CommandContext(ctx, filepath.Join(binDir, "kubeadm"), "config", "images", "list", "--kubernetes-version", version))
	if err != nil {
		return kubeadmImages{}, err
	}
	return parseKubeadmImages(out)
}

func parseKubeadmImages(out string) (kubeadmImages, error) {
	var im kubeadmImages
	for _, line := range strings.Fields(out) {
		ref := imageRef(line)
		if !strings.Contains(line, ":") {
			return im, fmt.Errorf("unexpected kubeadm image %q", line)
		}
		switch n := ref.name(); {
		case n == "etcd":
			im.Etcd = ref
		case n == "pause":
			im.Pause = ref
		case n == "coredns":
			// Not preloaded: the probes reach the apiserver by KUBERNETES_SERVICE_HOST and the
			// cluster config skips the CoreDNS addon phase.
		case strings.HasPrefix(n, "kube-"):
			im.Components = append(im.Components, ref)
		default:
			return im, fmt.Errorf("kubeadm wants image %q, which this builder does not know how to build", line)
		}
	}
	if im.Etcd == "" || im.Pause == "" || len(im.Components) != 4 {
		return im, fmt.Errorf("kubeadm image list incomplete: %q", out)
	}
	return im, nil
}

// etcdModuleVersion maps the etcd image tag 3.6.5-0 to the Go module version v3.6.5.
func (im kubeadmImages) etcdModuleVersion() string {
	tag, _, _ := strings.Cut(im.Etcd.tag(), "-")
	return "v" + tag
}

// componentImages builds each kubeadm image FROM scratch (kube-proxy on the node rootfs,
// as it needs iptables/nft) and saves them for import into the node's containerd.
func (b *builder) componentImages(ctx context.Context, binDir string, im kubeadmImages) error {
	for _, ref := range append(append([]imageRef(nil), im.Components...), im.Etcd, im.Pause) {
		if err := b.componentImage(ctx, binDir, ref); err != nil {
			return err
		}
	}
	return nil
}

// componentImage builds the image ref from the binary of its name in binDir.
func (b *builder) componentImage(ctx context.Context, binDir string, ref imageRef) error {
	name := ref.name()
	ctxDir := filepath.Join(b.workDir, "images", name)
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	if err := fileutil.Copy(filepath.Join(binDir, name), filepath.Join(ctxDir, name), 0o755); err != nil {
		return err
	}
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", name, name)
	switch name {
	case "kube-proxy":
		dockerfile = fmt.Sprintf("FROM %s\nCOPY %s /usr/local/bin/%s\n", b.baseImage, name, name)
	case "pause":
		dockerfile = "FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT [\"/pause\"]\n"
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	b.log.Printf("image %s", ref)
	return docker.Build(ctx, string(ref), ctxDir)
}
