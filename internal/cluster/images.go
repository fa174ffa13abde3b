package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/registry"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// Nodes ships images straight into the containerd of every node of a kind cluster, made
// by satoken or by anyone (`--load kind:NAME`), as `kind load` does.
type Nodes struct{ Name string }

// Ship imports the images under their local names.
func (n Nodes) Ship(ctx context.Context, images map[string]v1.Image) (map[string]string, error) {
	refs := map[string]string{}
	byRef := map[name.Reference]v1.Image{}
	for local, img := range images {
		tag, err := name.NewTag(local)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
		byRef[tag] = img
		refs[local] = local
	}
	tmp, err := os.CreateTemp("", "satoken-images-*.tar")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := tarball.MultiRefWriteToFile(tmp.Name(), byRef); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return refs, n.loadArchive(tmp.Name())
}

// PullPolicy: the images are on the nodes and nowhere else.
func (Nodes) PullPolicy() corev1.PullPolicy { return corev1.PullNever }

func (n Nodes) String() string { return "kind cluster " + n.Name + "'s nodes" }

// loadArchive imports an image archive (docker save format) into every node.
func (n Nodes) loadArchive(path string) error {
	nodes, err := newProvider().ListInternalNodes(n.Name)
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		return fmt.Errorf("kind cluster %q has no nodes (does it exist? kind get clusters)", n.Name)
	}
	for _, node := range nodes {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(node, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load images into %s: %w", node.String(), err)
		}
	}
	return nil
}

// Images are the cluster's image sink.
func (c *Cluster) Images() Nodes { return Nodes{Name: c.Name} }

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
	nodes, err := newProvider().ListNodes(s.name)
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
