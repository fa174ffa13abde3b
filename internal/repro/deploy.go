package repro

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

// PodSettings are the token and call settings of deployed probes.
type PodSettings struct {
	TTL       time.Duration
	Automount bool
	Interval  time.Duration
}

// Deployer creates probe pods from fixtures/probe/probe.yaml.tmpl.
type Deployer struct {
	kc   *kube.Client
	tmpl *template.Template
	set  PodSettings
}

// NewDeployer parses the probe fixture.
func NewDeployer(kc *kube.Client, fixturesDir string, set PodSettings) (*Deployer, error) {
	tmpl, err := template.ParseFiles(filepath.Join(fixturesDir, "probe", "probe.yaml.tmpl"))
	return &Deployer{kc: kc, tmpl: tmpl, set: set}, err
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// NamespaceFor maps a label such as v0.15.7 to satoken-v0-15-7.
func NamespaceFor(label string) string {
	return "satoken-" + strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(label), "-"), "-")
}

type podValues struct {
	Namespace, Pod, Label, Image string
	Interval                     string
	Projected                    bool
	TTLSeconds                   int
}

// Render returns the probe's manifests: namespace, ServiceAccount, RBAC, pod.
func (d *Deployer) Render(b probes.Built, ns, pod string) ([]byte, error) {
	var buf bytes.Buffer
	err := d.tmpl.Execute(&buf, podValues{Namespace: ns, Pod: pod, Label: b.Probe.Label, Image: b.Image,
		Interval: d.set.Interval.String(), Projected: !d.set.Automount, TTLSeconds: int(d.set.TTL.Seconds())})
	return buf.Bytes(), err
}

// Create creates the probe's objects (only its pod when onlyPod, for a restart).
func (d *Deployer) Create(ctx context.Context, b probes.Built, ns, pod string, onlyPod bool) error {
	data, err := d.Render(b, ns, pod)
	if err != nil {
		return err
	}
	objs, err := kube.Decode(data)
	if err != nil {
		return err
	}
	if onlyPod {
		objs = objs[len(objs)-1:]
	}
	return d.kc.Create(ctx, objs, ns)
}

// Deploy creates the probe and waits until it runs.
func (d *Deployer) Deploy(ctx context.Context, b probes.Built, ns, pod string, onlyPod bool) (*corev1.Pod, error) {
	if err := d.Create(ctx, b, ns, pod, onlyPod); err != nil {
		return nil, err
	}
	return d.kc.WaitPodRunning(ctx, ns, pod, podStartTimeout)
}

const podStartTimeout = 2 * time.Minute
