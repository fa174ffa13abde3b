// Package kube is the harness's Kubernetes client: typed access plus applying YAML
// documents (our probe fixtures and third-party manifests alike).
package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/satoken-e2e/satoken-e2e/internal/waits"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// The label on every namespace satoken creates, so that leftovers of an interrupted
// session can be found (`satoken clean`).
const (
	PartOfKey      = "app.kubernetes.io/part-of"
	PartOfValue    = "satoken-e2e"
	PartOfSelector = PartOfKey + "=" + PartOfValue
)

// Client bundles the clients the harness uses against one cluster.
type Client struct {
	Config  *rest.Config
	Typed   kubernetes.Interface
	Dynamic dynamic.Interface
	mapper  meta.ResettableRESTMapper
}

// clientQPS and clientBurst bound satoken's own requests, as kubectl's defaults do.
const clientQPS, clientBurst = 50, 300

// New connects with a kubeconfig file and one of its contexts ("" = its current one).
func New(kubeconfig, context string) (*Client, error) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	// kubectl's limits, not client-go's 5/s: deploying a matrix (four objects per probe)
	// and reading every probe's log each poll were throttled to ~1 s a probe, which
	// spread the probes' token clocks over the deploy.
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{Config: cfg, Typed: typed, Dynamic: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

// FromClients builds a Client from given clients (fakes in tests) and a REST mapper.
func FromClients(typed kubernetes.Interface, dyn dynamic.Interface, mapper meta.RESTMapper) *Client {
	return &Client{Config: &rest.Config{}, Typed: typed, Dynamic: dyn, mapper: resettable{mapper}}
}

// resettable lets a fixed mapper stand where a discovery-backed one is reset.
type resettable struct{ meta.RESTMapper }

func (resettable) Reset() {}

// CurrentContext is the context New uses: override, else the kubeconfig's current one.
func CurrentContext(kubeconfig, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	if cfg.CurrentContext == "" {
		return "", field.Required(field.NewPath("Context"), fmt.Sprintf("kubeconfig %s has no current context", kubeconfig))
	}
	return cfg.CurrentContext, nil
}

// Decode splits multi-document YAML (or JSON) into objects, skipping empty documents.
// Integers stay int64 (as the API machinery expects), lists are flattened.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %s: %w", truncate(string(raw), 120), err)
		}
		switch o := obj.(type) {
		case *unstructured.UnstructuredList:
			for i := range o.Items {
				objs = append(objs, &o.Items[i])
			}
		case *unstructured.Unstructured:
			objs = append(objs, o)
		}
	}
}

// Object names an object the harness created, so that it can delete it again (and tell
// its dependents by their owner references' UID).
type Object struct {
	Resource  schema.GroupVersionResource
	Namespace string
	Name      string
	UID       types.UID
	Created   time.Time // the apiserver's creationTimestamp
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Resource.Resource + "/" + o.Name
	}
	return o.Resource.Resource + " " + o.Namespace + "/" + o.Name
}

// Create creates objs in order; namespaced objects without a namespace go to defaultNS.
// Objects that already exist are left as they are; created lists the others.
func (c *Client) Create(ctx context.Context, objs []*unstructured.Unstructured, defaultNS string) (created []Object, err error) {
	for _, o := range objs {
		m, err := c.mapping(o)
		if err != nil {
			return created, err
		}
		var ri dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				o.SetNamespace(defaultNS)
			}
			ri = c.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		got, err := ri.Create(ctx, o, metav1.CreateOptions{})
		switch {
		case err == nil:
			created = append(created, Object{Resource: m.Resource, Namespace: o.GetNamespace(), Name: o.GetName(), UID: got.GetUID(), Created: got.GetCreationTimestamp().Time})
		case !apierrors.IsAlreadyExists(err):
			return created, fmt.Errorf("create %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return created, nil
}

// CreateAccess is the resource (and namespace) creating o touches, for access reviews.
func (c *Client) CreateAccess(o *unstructured.Unstructured, defaultNS string) (Object, error) {
	m, err := c.mapping(o)
	if err != nil {
		return Object{}, err
	}
	out := Object{Resource: m.Resource, Name: o.GetName()}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		out.Namespace = o.GetNamespace()
		if out.Namespace == "" {
			out.Namespace = defaultNS
		}
	}
	return out, nil
}

func (c *Client) mapping(o *unstructured.Unstructured) (*meta.RESTMapping, error) {
	m, err := c.mappingFor(o.GroupVersionKind())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return m, nil
}

func (c *Client) mappingFor(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset() // a CRD created earlier in this apply
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// Known reports whether the cluster serves o's kind (a custom resource's, once its CRD is
// established).
func (c *Client) Known(o *unstructured.Unstructured) bool {
	_, err := c.mappingFor(o.GroupVersionKind())
	return err == nil
}

// Namespaced reports whether o lives in a namespace: by its kind's scope where the cluster
// serves the kind, else by whether it names a namespace.
func (c *Client) Namespaced(o *unstructured.Unstructured) bool {
	m, err := c.mappingFor(o.GroupVersionKind())
	if err != nil {
		return o.GetNamespace() != ""
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace
}

// Owner reads the object an owner reference of an object in namespace ns points to
// (owners live in their dependent's namespace, or are cluster-scoped).
func (c *Client) Owner(ctx context.Context, ns string, ref metav1.OwnerReference) (*unstructured.Unstructured, error) {
	m, err := c.mappingFor(schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind))
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = c.Dynamic.Resource(m.Resource).Namespace(ns)
	}
	return ri.Get(ctx, ref.Name, metav1.GetOptions{})
}

// Delete deletes objs in reverse order (dependents first), ignoring those already gone.
func (c *Client) Delete(ctx context.Context, objs []Object) error {
	var errs []error
	policy := metav1.DeletePropagationBackground
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		err := c.Dynamic.Resource(o.Resource).Namespace(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", o, err))
		}
	}
	return errors.Join(errs...)
}

// WaitPodRunning waits until the pod runs and returns it (with its IP).
func (c *Client) WaitPodRunning(ctx context.Context, ns, name string, timeout time.Duration) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := waits.Until(ctx, waits.Input{What: fmt.Sprintf("pod %s/%s running", ns, name), Every: time.Second, Timeout: timeout},
		func(ctx context.Context) (bool, string, error) {
			p, err := c.Typed.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			pod = p
			return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "", PodProblem(p), nil
		})
	return pod, err
}

// PodProblem describes why a pod is not running, for error messages.
func PodProblem(p *corev1.Pod) string {
	if p == nil {
		return "pod not found"
	}
	var parts []string
	parts = append(parts, "phase "+string(p.Status.Phase))
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			parts = append(parts, fmt.Sprintf("%s waiting: %s %s", cs.Name, w.Reason, truncate(w.Message, 200)))
		}
		if t := cs.State.Terminated; t != nil {
			parts = append(parts, fmt.Sprintf("%s terminated: %s exit %d", cs.Name, t.Reason, t.ExitCode))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Status != corev1.ConditionTrue && cond.Message != "" {
			parts = append(parts, fmt.Sprintf("%s: %s", cond.Type, truncate(cond.Message, 200)))
		}
	}
	return strings.Join(parts, "; ")
}

// Logs returns a container's whole log.
func (c *Client) Logs(ctx context.Context, ns, pod, container string) ([]byte, error) {
	return c.Typed.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
}

// ProcessLogs is a container's log across one restart: the previous container's log
// (the kubelet keeps only the last one) followed by the current one. complete is false
// when earlier containers' logs are lost (restarted more than once).
func (c *Client) ProcessLogs(ctx context.Context, ns, pod, container string, restarts int32) (raw []byte, complete bool, err error) {
	cur, err := c.Logs(ctx, ns, pod, container)
	if err != nil || restarts == 0 {
		return cur, true, err
	}
	prev, err := c.Typed.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: true}).DoRaw(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("previous log of %s/%s: %w", ns, pod, err)
	}
	return append(prev, cur...), restarts == 1, nil
}

// Restarts is the restart count of the named container.
func Restarts(p *corev1.Pod, container string) int32 {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return cs.RestartCount
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Metric sums the samples of a metric in the apiserver's /metrics (all label sets);
// found is false when the apiserver does not expose it.
func (c *Client) Metric(ctx context.Context, name string) (sum float64, found bool, err error) {
	raw, err := c.Typed.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, false, err
	}
	return sumMetric(string(raw), name)
}

// sumMetric reads the Prometheus text format: "name{labels} value" or "name value".
func sumMetric(text, name string) (sum float64, found bool, err error) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndex(rest, "}")+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric %s: %q: %w", name, line, err)
		}
		sum += v
		found = true
	}
	return sum, found, nil
}

// AllContainerStatuses are the statuses of every container of the pod, init containers
// and native sidecars (init containers that restart always) first.
func AllContainerStatuses(pod corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

// Ready asks the apiserver's /readyz: the HTTP status (0 when there was no answer), and
// an error unless it was 200.
func (c *Client) Ready(ctx context.Context) (int, error) {
	rc := c.Typed.Discovery().RESTClient()
	if rc == nil {
		return 0, errors.New("no REST client to reach the apiserver")
	}
	res := rc.Get().AbsPath("/readyz").Do(ctx)
	var code int
	res.StatusCode(&code)
	if code == 200 {
		return code, nil
	}
	if err := res.Error(); err != nil {
		return code, err
	}
	return code, fmt.Errorf("/readyz answered %d", code)
}
