package repro

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
)

// PodSettings are the token, call and image settings of deployed probes.
type PodSettings struct {
	TTL       time.Duration
	Automount bool
	Interval  time.Duration
	// Refs maps a probe's local image name to the reference its pod uses (nil: the local
	// name), and PullPolicy says whether the node may pull it ("" = Never: loaded).
	Refs       map[string]string
	PullPolicy corev1.PullPolicy
	// PullSecrets (namespace/name) are copied into each probe's namespace for its pod.
	PullSecrets []string
}

// Deployer creates probe pods from fixtures/probe/probe.yaml.tmpl.
type Deployer struct {
	kc      *kube.Client
	tmpl    *template.Template
	set     PodSettings
	secrets []*corev1.Secret // copies of set.PullSecrets
	created []kube.Object    // cluster-scoped objects (namespaces) and others, in order
}

// NewDeployer parses the probe fixture and reads the pull secrets to copy.
func NewDeployer(ctx context.Context, kc *kube.Client, fixturesDir string, set PodSettings) (*Deployer, error) {
	tmpl, err := template.ParseFiles(filepath.Join(fixturesDir, "probe", "probe.yaml.tmpl"))
	if err != nil {
		return nil, err
	}
	if set.PullPolicy == "" {
		set.PullPolicy = corev1.PullNever
	}
	d := &Deployer{kc: kc, tmpl: tmpl, set: set}
	for _, ref := range set.PullSecrets {
		ns, name, _ := strings.Cut(ref, "/")
		s, err := kc.Typed.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("pull secret %s: %w", ref, err)
		}
		d.secrets = append(d.secrets, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.Name}, Type: s.Type, Data: s.Data})
	}
	return d, nil
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// NamespaceFor maps a label such as v0.15.7 to satoken-v0-15-7.
func NamespaceFor(label string) string {
	return "satoken-" + strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(label), "-"), "-")
}

type podValues struct {
	Namespace, Pod, Label, Image string
	PartOfKey, PartOfValue       string
	PullPolicy                   corev1.PullPolicy
	PullSecrets                  []string
	Interval                     string
	Projected                    bool
	TTLSeconds                   int
}

// Image is the reference the probe's pod runs.
func (d *Deployer) Image(b probes.Built) string {
	if ref, ok := d.set.Refs[b.Image]; ok {
		return ref
	}
	return b.Image
}

// Render returns the probe's manifests: namespace, ServiceAccount, RBAC, pod.
func (d *Deployer) Render(b probes.Built, ns, pod string) ([]byte, error) {
	var buf bytes.Buffer
	v := podValues{Namespace: ns, Pod: pod, Label: b.Probe.Label, Image: d.Image(b),
		PartOfKey: kube.PartOfKey, PartOfValue: kube.PartOfValue, PullPolicy: d.set.PullPolicy,
		Interval: d.set.Interval.String(), Projected: !d.set.Automount, TTLSeconds: int(d.set.TTL.Seconds())}
	for _, s := range d.secrets {
		v.PullSecrets = append(v.PullSecrets, s.Name)
	}
	err := d.tmpl.Execute(&buf, v)
	return buf.Bytes(), err
}

// Create creates the probe's objects (only its pod when onlyPod, for a restart); the
// pull secrets are copied in before the pod.
func (d *Deployer) Create(ctx context.Context, b probes.Built, ns, pod string, onlyPod bool) error {
	data, err := d.Render(b, ns, pod)
	if err != nil {
		return err
	}
	objs, err := kube.Decode(data)
	if err != nil {
		return err
	}
	podObj := objs[len(objs)-1:]
	if !onlyPod {
		created, err := d.kc.Create(ctx, objs[:len(objs)-1], ns)
		d.created = append(d.created, created...)
		if err != nil {
			return err
		}
		for _, s := range d.secrets {
			c := s.DeepCopy()
			c.Namespace = ns
			if _, err := d.kc.Typed.CoreV1().Secrets(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("copy pull secret %s into %s: %w", s.Name, ns, err)
			}
		}
	}
	_, err = d.kc.Create(ctx, podObj, ns)
	return err
}

// Namespaces are the namespaces this deployer created.
func (d *Deployer) Namespaces() []string {
	var out []string
	for _, o := range d.created {
		if o.Resource.Resource == "namespaces" {
			out = append(out, o.Name)
		}
	}
	return out
}

// Deploy creates the probe and waits until it runs.
func (d *Deployer) Deploy(ctx context.Context, b probes.Built, ns, pod string, onlyPod bool) (*corev1.Pod, error) {
	if err := d.Create(ctx, b, ns, pod, onlyPod); err != nil {
		return nil, err
	}
	return d.kc.WaitPodRunning(ctx, ns, pod, podStartTimeout)
}

const podStartTimeout = 2 * time.Minute
