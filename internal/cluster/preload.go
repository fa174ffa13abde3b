package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// preloaded are the images a preload imported while the cluster came up: Ship skips an
// image only when the same digest went into exactly the nodes the cluster has now and
// every node still lists it.
type preloaded struct {
	nodes   []string           // node container names, sorted
	digests map[string]v1.Hash // local name → the digest imported
}

// preload imports images into every node while kind runs kubeadm, which leaves the CPU
// idle much of its time (shipping 17 probe images afterwards took ~14 s of a 6-minute
// accelerated matrix). It starts once kubeadm has begun on the bootstrap control plane:
// kind has patched and restarted every node's containerd by then. Its result arrives on
// the returned channel; a failed preload costs only time, as Ship imports what is missing.
func preload(ctx context.Context, name string, images func() (map[string]v1.Image, error)) <-chan preloadResult {
	done := make(chan preloadResult, 1)
	go func() {
		start := time.Now()
		p, err := runPreload(ctx, name, images)
		done <- preloadResult{p, err, time.Since(start)}
	}()
	return done
}

type preloadResult struct {
	p    *preloaded
	err  error
	took time.Duration
}

func runPreload(ctx context.Context, name string, build func() (map[string]v1.Image, error)) (*preloaded, error) {
	images, err := build()
	if err != nil {
		return nil, err
	}
	digests := map[string]v1.Hash{}
	for local, img := range images {
		if digests[local], err = img.Digest(); err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
	}
	archive, err := writeArchive(images)
	if err != nil {
		return nil, err
	}
	defer os.Remove(archive)
	err = waits.Until(ctx, waits.Input{What: "kubeadm to start on kind cluster " + name, Every: 500 * time.Millisecond, Timeout: 3 * time.Minute},
		func(context.Context) (bool, string, error) {
			all, err := newProvider(nil).ListNodes(name)
			if err != nil || len(all) == 0 {
				return false, "no node yet", nil
			}
			boot, err := nodeutils.BootstrapControlPlaneNode(all)
			if err != nil {
				return false, err.Error(), nil
			}
			// kubeadm init's first phase writes the CA; kind's config step is over by then.
			if boot.Command("test", "-e", "/etc/kubernetes/pki/ca.crt").Run() != nil {
				return false, "kubeadm not started on " + boot.String(), nil
			}
			return true, "", nil
		})
	if err != nil {
		return nil, err
	}
	all, err := Nodes{Name: name}.internalNodes()
	if err == nil {
		err = importInto(ctx, all, archive)
	}
	if err != nil {
		return nil, err
	}
	return &preloaded{nodes: nodeNames(all), digests: digests}, nil
}

// awaitPreload waits for a started preload and keeps what it imported, or says why
// Ship will import the images after all.
func (c *Cluster) awaitPreload(done <-chan preloadResult, log *phase.Recorder) {
	r := <-done
	if r.err != nil {
		log.Printf("warning: images not preloaded while the cluster came up (%v): they are shipped afterwards", r.err)
		return
	}
	c.preloaded = r.p
	log.Printf("preloaded %d images into %d node(s) while kubeadm ran (%.1fs)", len(r.p.digests), len(r.p.nodes), r.took.Seconds())
}

// skip says which of images need no import: preloaded with the same digest into the
// nodes the cluster has now, and still listed by each node's containerd.
func (p *preloaded) skip(images map[string]v1.Image, now []nodes.Node) (map[string]bool, error) {
	skip := map[string]bool{}
	if p == nil || !slices.Equal(p.nodes, nodeNames(now)) {
		return skip, nil
	}
	listed := map[string]int{}
	for _, n := range now {
		var out strings.Builder
		if err := n.Command("ctr", "--namespace=k8s.io", "images", "list", "--quiet").SetStdout(&out).Run(); err != nil {
			return nil, fmt.Errorf("list images on %s: %w", n.String(), err)
		}
		for _, ref := range strings.Fields(out.String()) {
			listed[ref]++
		}
	}
	for local, img := range images {
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
		ref, err := containerdRef(local)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", local, err)
		}
		want, ok := p.digests[local]
		skip[local] = ok && want == d && listed[ref] == len(now)
	}
	return skip, nil
}

func nodeNames(ns []nodes.Node) []string {
	names := make([]string, 0, len(ns))
	for _, n := range ns {
		names = append(names, n.String())
	}
	slices.Sort(names)
	return names
}

// containerdRef is the name a node's containerd lists a local image under: Docker Hub is
// docker.io there, where go-containerregistry says index.docker.io.
func containerdRef(local string) (string, error) {
	tag, err := name.NewTag(local)
	if err != nil {
		return "", err
	}
	if tag.RegistryStr() != name.DefaultRegistry {
		return tag.Name(), nil
	}
	return "docker.io/" + tag.RepositoryStr() + ":" + tag.TagStr(), nil
}
