//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// kindLibProvider plugs clusters made by internal/cluster (the kind Go library, an
// offline node image) into e2e-framework's envfuncs. e2e-framework's own kind provider
// shells out to a kind binary and waits for kindnet/CoreDNS, which offline clusters lack.
type kindLibProvider struct {
	opts    cluster.Options
	log     *phase.Recorder
	cluster *cluster.Cluster
}

var _ types.E2EClusterProviderWithImageLoader = (*kindLibProvider)(nil)

func (p *kindLibProvider) WithName(name string) types.E2EClusterProvider {
	p.opts.Name = name
	return p
}

// WithVersion selects a node image; the version is its tag.
func (p *kindLibProvider) WithVersion(image string) types.E2EClusterProvider {
	p.opts.NodeImage = image
	return p
}

// WithPath is meaningless here: no kind binary is involved.
func (p *kindLibProvider) WithPath(string) types.E2EClusterProvider { return p }

func (p *kindLibProvider) WithOpts(opts ...types.ClusterOpts) types.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *kindLibProvider) SetDefaults() types.E2EClusterProvider { return p }

func (p *kindLibProvider) Create(ctx context.Context, _ ...string) (string, error) {
	c, err := cluster.Up(ctx, p.opts, p.log)
	if err != nil {
		return "", err
	}
	p.cluster = c
	return c.Kubeconfig(), nil
}

func (p *kindLibProvider) CreateWithConfig(context.Context, string) (string, error) {
	return "", errors.New("the kind config is rendered from fixtures/kind; use Create")
}

func (p *kindLibProvider) GetKubeconfig() string { return p.opts.Kubeconfig() }

func (p *kindLibProvider) GenerateKubeconfig(...string) (string, error) {
	return p.opts.Kubeconfig(), nil
}

func (p *kindLibProvider) GetKubectlContext() string { return "kind-" + p.opts.Name }

func (p *kindLibProvider) ExportLogs(_ context.Context, dest string) error {
	if p.cluster == nil {
		return errors.New("no cluster")
	}
	return p.cluster.ExportLogs(dest)
}

func (p *kindLibProvider) Destroy(context.Context) error {
	if p.cluster == nil {
		return cluster.Down(p.opts)
	}
	return p.cluster.Down()
}

// WaitForControlPlane waits for the node and the static control-plane pods and
// kube-proxy: what an offline cluster has (no CoreDNS, no kindnet).
func (p *kindLibProvider) WaitForControlPlane(ctx context.Context, c klient.Client) error {
	want := []string{"component=kube-apiserver", "component=etcd", "component=kube-controller-manager", "component=kube-scheduler", "k8s-app=kube-proxy"}
	return wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, sel := range want {
			var pods corev1.PodList
			if err := c.Resources("kube-system").List(ctx, &pods, func(o *metav1.ListOptions) { o.LabelSelector = sel }); err != nil || len(pods.Items) == 0 {
				return false, nil
			}
			for _, pod := range pods.Items {
				if pod.Status.Phase != corev1.PodRunning {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

func (p *kindLibProvider) KubernetesRestConfig() *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.opts.Kubeconfig())
	if err != nil {
		panic(fmt.Sprintf("kubeconfig of %s: %v", p.opts.Name, err)) // interface has no error return
	}
	return cfg
}

func (p *kindLibProvider) LoadImage(ctx context.Context, image string, _ ...string) error {
	if p.cluster == nil {
		return errors.New("no cluster")
	}
	return p.cluster.LoadImages(ctx, image)
}

func (p *kindLibProvider) LoadImageArchive(ctx context.Context, archivePath string, _ ...string) error {
	if p.cluster == nil {
		return errors.New("no cluster")
	}
	return p.cluster.LoadArchive(ctx, archivePath)
}
