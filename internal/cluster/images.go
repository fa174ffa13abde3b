package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/registry"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// Nodes ships images straight into the containerd of every node of a kind cluster, made
// by satoken or by anyone (`--load kind:NAME`), as `kind load` does.
type Nodes struct {
	Name      string
	preloaded *preloaded // imported while satoken's cluster came up; nil for anyone's
}

// Ship imports the images under their local names, but for those preloaded (preload).
func (n Nodes) Ship(ctx context.Context, images map[string]v1.Image) (map[string]string, error) {
	refs := map[string]string{}
	for local := range images {
		refs[local] = local
	}
	now, err := n.internalNodes()
	if err != nil {
		return nil, err
	}
	skip, err := n.preloaded.skip(images, now)
	if err != nil {
		return nil, err
	}
	todo := map[string]v1.Image{}
	for local, img := range images {
		if !skip[local] {
			todo[local] = img
		}
	}
	if len(todo) == 0 {
		return refs, nil
	}
	archive, err := writeArchive(todo)
	if err != nil {
		return nil, err
	}
	defer os.Remove(archive)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return refs, importInto(ctx, now, archive)
}

// writeArchive writes images under their local names to a temporary docker-save
// archive and returns its path.
func writeArchive(images map[string]v1.Image) (string, error) {
	byRef := map[name.Reference]v1.Image{}
	for local, img := range images {
		tag, err := name.NewTag(local)
		if err != nil {
			return "", fmt.Errorf("image %s: %w", local, err)
		}
		byRef[tag] = img
	}
	tmp, err := os.CreateTemp("", "satoken-images-*.tar")
	if err != nil {
		return "", err
	}
	tmp.Close()
	if err := tarball.MultiRefWriteToFile(tmp.Name(), byRef); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// PullPolicy: the images are on the nodes and nowhere else.
func (Nodes) PullPolicy() corev1.PullPolicy { return corev1.PullNever }

func (n Nodes) String() string { return "kind cluster " + n.Name + "'s nodes" }

func (n Nodes) internalNodes() ([]nodes.Node, error) {
	all, err := newProvider(nil).ListInternalNodes(n.Name)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("kind cluster %q has no nodes (does it exist? kind get clusters)", n.Name)
	}
	return all, nil
}

// loadArchive imports an image archive (docker save format) into every node.
func (n Nodes) loadArchive(ctx context.Context, path string) error {
	all, err := n.internalNodes()
	if err != nil {
		return err
	}
	return importInto(ctx, all, path)
}

// importInto imports an image archive (docker save format) into each of the nodes.
func importInto(ctx context.Context, all []nodes.Node, path string) error {
	for _, node := range all {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = importArchive(ctx, node, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load images into %s: %w", node.String(), err)
		}
	}
	return nil
}

// importArchive streams a docker-save archive into node's containerd without unpacking
// it (kind's LoadImageArchive unpacks): containerd unpacks an image when its first
// container is created, which for a probe is after the kubelet has issued its token, in
// the token wait's idle time, not while the cluster comes up or the session waits to
// deploy. kind's node images keep their own images packed the same way.
func importArchive(ctx context.Context, node nodes.Node, archive io.Reader) error {
	return node.CommandContext(ctx, "ctr", "--namespace=k8s.io", "images", "import", "--all-platforms", "--digests", "--no-unpack", "-").SetStdin(archive).Run()
}

// Images are the cluster's image sink.
func (c *Cluster) Images() Nodes { return Nodes{Name: c.Name, preloaded: c.preloaded} }

// Target is the cluster as `run` and `check` deploy into it.
func (c *Cluster) Target() target.Target {
	t := target.Target{Name: c.Name, Kubeconfig: c.Kubeconfig(), NodeImage: c.NodeImage,
		MaxTokenExpiration: c.MaxTokenExpiration, AcceleratedMinTTL: c.AcceleratedMinTTL, AuditLog: c.AuditLog(), Images: c.Images()}
	if c.mirror != nil {
		t.Mirror = c.mirror
	}
	return t
}

// mirror serves local images to the cluster's nodes under their own names, through a
// registry mirror per upstream host on the kind network's gateway (registry.Mirror),
// for as long as the cluster is up in this process.
type mirror struct {
	name string
	mu   sync.Mutex // checks running side by side ship at once
	m    *registry.Mirror
}

// Ship serves the images and points every node's containerd at them.
func (s *mirror) Ship(ctx context.Context, images map[string]v1.Image) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		gw, err := docker.NetworkGateway(ctx, "kind")
		if err != nil {
			return nil, err
		}
		s.m = registry.NewMirror(gw)
	}
	files, err := s.m.Push(ctx, images)
	if err != nil {
		return nil, err
	}
	nodes, err := newProvider(nil).ListNodes(s.name)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		for _, f := range files {
			if err := nodeutils.WriteFile(n, f.Path, f.Content); err != nil {
				return nil, fmt.Errorf("point %s at the image mirror: %w", n.String(), err)
			}
		}
	}
	refs := map[string]string{}
	for local := range images {
		refs[local] = local
	}
	return refs, nil
}

// PullPolicy: pods pull through the mirror whatever their policy says.
func (*mirror) PullPolicy() corev1.PullPolicy { return corev1.PullIfNotPresent }

func (s *mirror) String() string { return "an image mirror for kind cluster " + s.name + "'s nodes" }

func (s *mirror) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m != nil {
		s.m.Close()
	}
}
