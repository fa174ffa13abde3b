package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// Cluster is a running kind cluster.
type Cluster struct {
	Options
	provider  *kindcluster.Provider
	lock      *lock // held from Up to Down (or the process's end)
	mirror    *mirror
	preloaded *preloaded
}

// newProvider is kind's docker provider; log, when not nil, gets kind's status lines
// (kind's own stderr logger otherwise).
func newProvider(log *phase.Recorder) *kindcluster.Provider {
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(loggerFor(log)))
}

// Up creates the cluster (replacing one of the same name left behind by an earlier run,
// unless Reuse) and writes its kubeconfig to o.Kubeconfig().
func Up(ctx context.Context, o Options, log *phase.Recorder) (_ *Cluster, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{Options: o, provider: newProvider(log), mirror: &mirror{name: o.Name}}
	if c.lock, err = o.acquire(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.lock.release() // on every early error: the next session must not wait on it
		}
	}()
	existing, err := c.provider.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	if slices.Contains(existing, o.Name) {
		if o.Reuse {
			if err := c.reuse(); err != nil {
				return nil, err
			}
			return c, nil
		}
		log.Printf("cluster %q exists (left by an earlier run?): deleting it to start clean (--reuse keeps it)", o.Name)
		if err := c.delete(); err != nil {
			return nil, err
		}
	}
	if err := o.prepareState(); err != nil {
		return nil, err
	}
	offline := docker.BuiltBySatoken(ctx, o.NodeImage) // internal/nodeimage's, not a registry's
	o.AcceleratedMinTTL, _ = nodeimage.AcceleratedMinTTLOf(ctx, o.NodeImage)
	c.Options = o
	config, err := o.RenderConfig(offline)
	if err != nil {
		return nil, err
	}
	create := func() error {
		return c.provider.Create(o.Name,
			kindcluster.CreateWithRawConfig(config),
			kindcluster.CreateWithNodeImage(o.NodeImage),
			kindcluster.CreateWithKubeconfigPath(o.Kubeconfig()),
			kindcluster.CreateWithWaitForReady(3*time.Minute),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false),
		)
	}
	err = c.createPreloading(ctx, create, log)
	if err != nil && ctx.Err() == nil {
		log.Printf("cluster create failed (%v%s); cleaning up and retrying once", err, commandOutput(err))
		_ = c.delete()
		if err = o.prepareState(); err == nil {
			err = create()
		}
	}
	if err == nil {
		err = ctx.Err() // interrupted while kind was creating: do not leave it behind
	}
	if err == nil {
		err = WaitServiceRouting(ctx, o.Name, log)
	}
	if err == nil {
		err = c.saveOptions()
	}
	if err != nil {
		_ = c.delete()
		return nil, fmt.Errorf("create cluster %q: %w%s", o.Name, err, commandOutput(err))
	}
	return c, nil
}

// createPreloading runs create with o.Preload's images imported alongside; a cluster
// whose create failed drops them (a retry ships them afterwards).
func (c *Cluster) createPreloading(ctx context.Context, create func() error, log *phase.Recorder) error {
	if c.Preload == nil {
		return create()
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := preload(pctx, c.Name, c.Preload)
	err := create()
	if err != nil {
		cancel()
		<-done
		return err
	}
	c.awaitPreload(done, log)
	return nil
}

// WaitServiceRouting waits until kube-proxy has programmed the kubernetes Service on every
// node of kind cluster name: before that a pod's call to 10.96.0.1 fails (or leaves the
// node), which would look like a token problem in a probe's log.
func WaitServiceRouting(ctx context.Context, name string, log *phase.Recorder) error {
	nodes, err := newProvider(nil).ListNodes(name)
	if err != nil {
		return err
	}
	ready := 0 // nodes[:ready] route the Service; one deadline for all of them
	err = waits.Until(ctx, waits.Input{What: "kube-proxy to program the kubernetes Service", Every: time.Second, Timeout: 2 * time.Minute},
		func(context.Context) (bool, string, error) {
			for ; ready < len(nodes); ready++ {
				if nodes[ready].Command("sh", "-c", "iptables-save -t nat | grep -q 'default/kubernetes:https'").Run() != nil {
					return false, "not yet on " + nodes[ready].String(), nil
				}
			}
			return true, "", nil
		})
	if err != nil {
		return err
	}
	log.Printf("kube-proxy routes the kubernetes Service on %d node(s)", len(nodes))
	return nil
}

// commandOutput is the tail of what a failed kind step (e.g. kubeadm init) printed.
func commandOutput(err error) string {
	re := kindexec.RunErrorForError(err)
	if re == nil || len(re.Output) == 0 {
		return ""
	}
	out := string(re.Output)
	if len(out) > 4000 {
		out = "…" + out[len(out)-4000:]
	}
	return "\n" + out
}

// reuse adopts an existing cluster if it was made with the same token settings.
func (c *Cluster) reuse() error {
	var saved Options
	data, err := os.ReadFile(c.optionsFile())
	if err == nil {
		err = json.Unmarshal(data, &saved)
	}
	if err != nil {
		return field.Forbidden(field.NewPath("Reuse"), fmt.Sprintf("cluster %q was not created by satoken (no %s); drop it to replace the cluster", c.Name, c.optionsFile()))
	}
	if saved.MaxTokenExpiration != c.MaxTokenExpiration || saved.ExtendTokenExpiration != c.ExtendTokenExpiration {
		return field.Forbidden(field.NewPath("Reuse"), fmt.Sprintf("cluster %q runs with max-token-expiration=%s extend=%v, not %s/%v; drop it to replace the cluster",
			c.Name, saved.MaxTokenExpiration, saved.ExtendTokenExpiration, c.MaxTokenExpiration, c.ExtendTokenExpiration))
	}
	c.NodeImage = saved.NodeImage
	return c.provider.ExportKubeConfig(c.Name, c.Kubeconfig(), false)
}

func (c *Cluster) optionsFile() string { return filepath.Join(c.StateDir, "options.json") }

func (c *Cluster) saveOptions() error {
	data, err := json.MarshalIndent(c.Options, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.optionsFile(), data, 0o644)
}

// Down deletes the cluster and its state directory (kind's shared docker network stays);
// it refuses while another satoken process uses the cluster.
func Down(o Options) error {
	l, err := o.acquire()
	if err != nil {
		return err
	}
	c := &Cluster{Options: o, provider: newProvider(nil), lock: l}
	return c.Down()
}

// Down deletes the cluster and releases it; see the package-level Down.
func (c *Cluster) Down() error {
	defer c.lock.release()
	c.mirror.close()
	if err := c.delete(); err != nil {
		return err
	}
	return os.RemoveAll(c.StateDir)
}

func (c *Cluster) delete() error {
	// The shared "kind" network stays, as kind leaves it: removing it when no container is
	// attached raced with another session that kind had just given it ("network kind not
	// found" before its node started).
	if err := c.provider.Delete(c.Name, c.Kubeconfig()); err != nil {
		return fmt.Errorf("delete cluster %q: %w", c.Name, err)
	}
	return nil
}

// LoadImages copies local docker images into every node's containerd, as `kind load
// docker-image` does.
func (c *Cluster) LoadImages(ctx context.Context, names ...string) error {
	images, cleanup, err := docker.Images(ctx, names...)
	if err != nil {
		return err
	}
	defer cleanup()
	_, err = c.Images().Ship(ctx, images)
	return err
}

// LoadArchive imports an image archive (docker save format) into every node.
func (c *Cluster) LoadArchive(ctx context.Context, path string) error {
	return c.Images().loadArchive(ctx, path)
}

// ExportLogs writes `kind export logs` output to dir.
func (c *Cluster) ExportLogs(dir string) error { return c.provider.CollectLogs(c.Name, dir) }
