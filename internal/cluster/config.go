// Package cluster creates and deletes kind clusters through the kind Go library, configured
// so the apiserver issues short-lived ServiceAccount tokens and audits to a host directory.
package cluster

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"text/template"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
)

// MinMaxTokenExpiration is the apiserver's floor for --service-account-max-token-expiration.
const MinMaxTokenExpiration = time.Hour

// kubeletTokenRequest is what the kubelet asks for (3607 s); the apiserver extends exactly
// such requests, after capping them to the maximum.
const kubeletTokenRequest = 3607 * time.Second

// Options configures a cluster.
type Options struct {
	Name                  string
	NodeImage             string
	MaxTokenExpiration    time.Duration
	ExtendTokenExpiration bool
	Reuse                 bool   // keep an existing cluster of this name instead of replacing it
	FixturesDir           string // holds kind/cluster.yaml.tmpl and kind/audit-policy.yaml
	StateDir              string // kubeconfig, audit log and options of this cluster
	// AcceleratedMinTTL is the shortest token lifetime the node image's apiserver accepts
	// when it is an accelerated one (read from the image by Up), 0 for a stock image.
	AcceleratedMinTTL time.Duration
	// Preload makes the images the session will ship (local name → image); they are
	// built and imported while kind creates the cluster, so shipping them afterwards is
	// free (see preload). Not saved.
	Preload func() (map[string]v1.Image, error) `json:"-"`
	// AuditLogRotation bounds the apiserver's audit log rotation (zero: DefaultAuditLog).
	AuditLogRotation AuditLogRotation
}

// AuditLogRotation is the apiserver's --audit-log-maxsize (MB) and --audit-log-maxbackup.
type AuditLogRotation struct {
	MaxSizeMB, MaxBackups int
}

// DefaultAuditLog keeps up to 600 MB: rotation is rare and nothing of a session is lost.
var DefaultAuditLog = AuditLogRotation{MaxSizeMB: 200, MaxBackups: 2}

// AcceleratedSyncFrequency is the kubelet's pod re-sync period on an accelerated node: the
// kubelet only considers refreshing a projected token when it re-syncs the pod, so with
// the default 1m a 2-minute token would rotate anywhere between 96 s and 156 s.
const AcceleratedSyncFrequency = 10 * time.Second

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate rejects input the apiserver or kind would reject later, with a clearer message.
func (o Options) Validate() error {
	if !nameRE.MatchString(o.Name) || len(o.Name) > 40 {
		return fmt.Errorf("cluster name %q: use lower-case letters, digits and '-', at most 40 characters", o.Name)
	}
	if o.MaxTokenExpiration < MinMaxTokenExpiration {
		return fmt.Errorf("--max-token-expiration %s: the apiserver requires at least %s", o.MaxTokenExpiration, MinMaxTokenExpiration)
	}
	if o.ExtendTokenExpiration && o.MaxTokenExpiration < kubeletTokenRequest {
		return fmt.Errorf("--extend-token-expiration has no effect with --max-token-expiration %s: the apiserver caps the kubelet's %s request before extending it; use at least %s",
			o.MaxTokenExpiration, kubeletTokenRequest, kubeletTokenRequest)
	}
	if o.NodeImage == "" {
		return fmt.Errorf("no node image")
	}
	return nil
}

type renderInput struct {
	Offline               bool
	AuditDir              string
	AuditPolicy           string
	MaxTokenExpiration    string
	ExtendTokenExpiration bool
	AdmissionPolicyAPI    string // group/version to serve, "" when the version lacks it
	// KubeletAllowCgroupV1 sets failCgroupV1: false, which kubelet >= 1.35 needs on a
	// cgroup v1 host (only then: elsewhere the kubelet's default stays).
	KubeletAllowCgroupV1 bool
	Accelerated          bool
	KubeletSyncFrequency string
	AuditLog             AuditLogRotation
}

// imageVersionRE finds the Kubernetes minor version in a node image tag such as
// satoken/kind-node:v1.34.4 or kindest/node:v1.33.1@sha256:...
var imageVersionRE = regexp.MustCompile(`:v1\.(\d+)\.\d+`)

// AdmissionPolicyAPI is the MutatingAdmissionPolicy API the cluster serves: `satoken check`
// shortens tokens server-side with it, so pods an operator creates later are covered too.
// The API is feature-gated (alpha in 1.32–1.33, beta but off by default from 1.34), and an
// apiserver given a gate it does not know fails to start, so it is only turned on when the
// node image tag names a version that has it.
func (o Options) AdmissionPolicyAPI() string {
	switch minor := o.kubernetesMinor(); {
	case minor < 0:
		return ""
	case minor >= 34:
		return "admissionregistration.k8s.io/v1beta1"
	case minor >= 32:
		return "admissionregistration.k8s.io/v1alpha1"
	}
	return ""
}

// kubernetesMinor is MINOR of the v1.MINOR.PATCH the node image tag names, or -1.
func (o Options) kubernetesMinor() int {
	m := imageVersionRE.FindStringSubmatch(o.NodeImage)
	if m == nil {
		return -1
	}
	minor, _ := strconv.Atoi(m[1])
	return minor
}

// hostCgroupV1 reports whether kind's nodes here see cgroup v1 (a variable for tests).
var hostCgroupV1 = func() bool {
	v2, err := nodeimage.HostCgroupV2()
	return err == nil && !v2
}

// KubeletAllowCgroupV1 is whether the kubelet must be told to run on cgroup v1: the node
// image's Kubernetes refuses it by default (>= 1.35) and this host is cgroup v1.
func (o Options) KubeletAllowCgroupV1() bool {
	minor := o.kubernetesMinor()
	return minor >= 0 && nodeimage.NeedsCgroupV1Override(fmt.Sprintf("v1.%d.0", minor)) && hostCgroupV1()
}

// RenderConfig renders the kind config from fixtures. offline selects the settings of the
// satoken-built node image (static CNI, no CoreDNS).
func (o Options) RenderConfig(offline bool) ([]byte, error) {
	tmpl, err := template.ParseFiles(filepath.Join(o.FixturesDir, "kind", "cluster.yaml.tmpl"))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, renderInput{
		Offline:               offline,
		AuditDir:              o.auditDir(),
		AuditPolicy:           o.auditPolicy(),
		MaxTokenExpiration:    o.MaxTokenExpiration.String(),
		ExtendTokenExpiration: o.ExtendTokenExpiration,
		AdmissionPolicyAPI:    o.AdmissionPolicyAPI(),
		KubeletAllowCgroupV1:  o.KubeletAllowCgroupV1(),
		Accelerated:           o.AcceleratedMinTTL > 0,
		KubeletSyncFrequency:  AcceleratedSyncFrequency.String(),
		AuditLog:              cmp.Or(o.AuditLogRotation, DefaultAuditLog),
	})
	return buf.Bytes(), err
}

func (o Options) auditDir() string    { return filepath.Join(o.StateDir, "audit") }
func (o Options) auditPolicy() string { return filepath.Join(o.StateDir, "audit-policy.yaml") }

// Kubeconfig is where the cluster's kubeconfig is written (never ~/.kube/config).
func (o Options) Kubeconfig() string { return filepath.Join(o.StateDir, "kubeconfig") }

// AuditLog is the apiserver's audit log as seen from the host.
func (o Options) AuditLog() string { return filepath.Join(o.auditDir(), "audit.log") }

// prepareState lays out the host side of the cluster's mounts.
func (o Options) prepareState() error {
	if err := os.MkdirAll(o.auditDir(), 0o755); err != nil {
		return err
	}
	policy, err := os.ReadFile(filepath.Join(o.FixturesDir, "kind", "audit-policy.yaml"))
	if err != nil {
		return err
	}
	return os.WriteFile(o.auditPolicy(), policy, 0o644)
}
