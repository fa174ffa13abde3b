// Package target is where a session deploys: the kind cluster satoken made for it, or any
// cluster a kubeconfig reaches. It knows how images get to the cluster's nodes, checks what
// the session may do there before anything is deployed, and removes what it left behind.
package target

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// Target is one cluster and what is known about it.
type Target struct {
	Name       string // the kind cluster's name, or the kubeconfig context
	Kubeconfig string
	Context    string // "" = the kubeconfig's current context
	// Existing is a cluster satoken did not create: it deploys only into namespaces of its
	// own, checks its rights first and deletes those namespaces at the end.
	Existing bool
	// Known only for clusters satoken created.
	NodeImage          string
	MaxTokenExpiration time.Duration // 0 = unknown
	// AcceleratedMinTTL is the shortest token lifetime an accelerated control plane
	// accepts; 0 for a stock one (and for any existing cluster).
	AcceleratedMinTTL time.Duration
	// AuditLog is the apiserver's audit log (a file or a directory of them), "" when none.
	AuditLog string
	Images   Sink
	// Mirror, where set, serves local images to the nodes under their own names whatever
	// the pods' imagePullPolicy (satoken's own clusters): `check` ships a workload's images
	// with it, since the workload's manifests name them as they are.
	Mirror Sink
	// PullSecrets are secrets (namespace/name) copied into the session's namespaces and
	// named as the pods' imagePullSecrets.
	PullSecrets []string
}

// Sink gets images to a cluster's nodes.
type Sink interface {
	// Ship makes the images (by local name) pullable by the cluster's nodes and returns, per
	// local name, the reference a pod must use.
	Ship(ctx context.Context, images map[string]v1.Image) (map[string]string, error)
	PullPolicy() corev1.PullPolicy
	String() string
}

// Client connects to the target.
func (t Target) Client() (*kube.Client, error) { return kube.New(t.Kubeconfig, t.Context) }

// Describe says what the cluster is, for reports.
func (t Target) Describe() string {
	if !t.Existing {
		return fmt.Sprintf("kind cluster %s, made by satoken", t.Name)
	}
	return fmt.Sprintf("existing cluster (context %s)", t.Name)
}

// StockMinTTL is a stock apiserver's floor for a pod token's expirationSeconds.
const StockMinTTL = 10 * time.Minute

// A session's token lifetime and settle on a stock control plane (the floor, and five
// minutes: client-go 1.12/1.13 re-read their token every 4-5 min) and on an accelerated
// one: a 2-minute token is refused at exp + 60 s leeway ≈ 3 min, and its refresh margin
// (20 %, 24 s, plus the kubelet's 10 s re-sync) still gives a client that re-reads the
// file every minute (client-go >= 1.15, client-node >= 0.10.3) a new token before then.
const (
	StockTTL          = StockMinTTL
	StockSettle       = 5 * time.Minute
	AcceleratedTTL    = 2 * time.Minute
	AcceleratedSettle = 2 * time.Minute
)

// MinTTL is the shortest token lifetime the target's apiserver accepts.
func (t Target) MinTTL() time.Duration {
	if t.AcceleratedMinTTL > 0 {
		return t.AcceleratedMinTTL
	}
	return StockMinTTL
}

// AcceptsTTL refuses, before anything is deployed, a token lifetime the cluster's
// apiserver would refuse (a pod's projection would fail validation).
func (t Target) AcceptsTTL(ttl time.Duration) error {
	if ttl >= t.MinTTL() {
		return nil
	}
	if t.AcceleratedMinTTL == 0 {
		return fmt.Errorf("token TTL %s: this cluster's apiserver (%s) is stock and refuses token lifetimes under %s; an accelerated one comes with --fast", ttl, t.NodeImageOrName(), StockMinTTL)
	}
	return fmt.Errorf("token TTL %s: this accelerated apiserver accepts token lifetimes down to %s", ttl, t.AcceleratedMinTTL)
}

// NodeImageOrName names the cluster by its node image where known.
func (t Target) NodeImageOrName() string {
	if t.NodeImage != "" {
		return "node image " + t.NodeImage
	}
	return t.Name
}

// MaxTokenExpirationString is the apiserver's maximum token lifetime for reports.
func (t Target) MaxTokenExpirationString() string {
	if t.MaxTokenExpiration == 0 {
		return "unknown"
	}
	return t.MaxTokenExpiration.String()
}
