package check

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// SystemNamespaces are the cluster's own namespaces. Add-ons often install into
// kube-system; on someone else's cluster that needs Input.AllowSystemNamespaces.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// maxOwnerDepth bounds the owner-reference walk (CronJob → Job → Pod is 2; an operator's
// custom resource → Deployment → ReplicaSet → Pod is 3).
const maxOwnerDepth = 8

// workload is what the manifests put into the cluster, and how a pod is told to belong to
// it: owned (through owner references, transitively) by an object the check created; or
// created during the check under one of the workload's ServiceAccounts (an operator's
// operand pods, a Job's pods); or running in a namespace the check created. Other pods of
// the same namespaces — kube-proxy and CoreDNS in kube-system — are neither judged nor
// waited for.
type workload struct {
	created         map[types.UID]bool
	serviceAccounts []string // namespace/name, sorted
	namespaces      []string // created by the check, sorted
	// since is the apiserver's time of the check's first object: pods created under a
	// workload ServiceAccount before it are someone else's.
	since  time.Time
	owners map[types.UID]bool // memo: does this owner lead to a created object?
}

// serviceAccountsOf lists the ServiceAccounts (namespace/name) the manifests create or
// their pod templates run under, objects without a namespace taken to be in ns.
func serviceAccountsOf(objs []*unstructured.Unstructured, ns string) []string {
	seen := map[string]bool{}
	in := func(o *unstructured.Unstructured) string {
		if o.GetNamespace() != "" {
			return o.GetNamespace()
		}
		return ns
	}
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" && o.GroupVersionKind().Group == "" {
			seen[in(o)+"/"+o.GetName()] = true
		}
	}
	_, _ = eachPodSpec(objs, func(o *unstructured.Unstructured, spec map[string]any) error {
		seen[in(o)+"/"+podServiceAccount(spec)] = true
		return nil
	})
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// podServiceAccount is the ServiceAccount a pod spec runs under, as the apiserver reads
// it: serviceAccountName, else the deprecated serviceAccount, else "default".
func podServiceAccount(spec map[string]any) string {
	for _, key := range []string{"serviceAccountName", "serviceAccount"} {
		if s, _ := spec[key].(string); s != "" {
			return s
		}
	}
	return "default"
}

func newWorkload(serviceAccounts []string) *workload {
	return &workload{created: map[types.UID]bool{}, serviceAccounts: serviceAccounts, owners: map[types.UID]bool{}}
}

// add records objects the check created.
func (w *workload) add(created ...kube.Object) {
	for _, o := range created {
		if o.UID != "" {
			w.created[o.UID] = true
		}
		if w.since.IsZero() || o.Created.Before(w.since) {
			w.since = o.Created
		}
		if o.Resource.Group == "" && o.Resource.Resource == "namespaces" && !slices.Contains(w.namespaces, o.Name) {
			w.namespaces = append(w.namespaces, o.Name)
			sort.Strings(w.namespaces)
		}
	}
}

// member says whether pod belongs to the workload, and why.
func (w *workload) member(ctx context.Context, kc *kube.Client, pod *corev1.Pod) (bool, string) {
	if _, ok := pod.Labels[canaryLabel]; ok {
		return false, "" // the check's own canary
	}
	if slices.Contains(w.namespaces, pod.Namespace) {
		return true, "in namespace " + pod.Namespace + ", created by the check"
	}
	if w.owned(ctx, kc, pod.Namespace, pod.OwnerReferences, 0) {
		return true, "owned by an object of the manifests"
	}
	sa := pod.Namespace + "/" + pod.Spec.ServiceAccountName
	if slices.Contains(w.serviceAccounts, sa) && !w.since.IsZero() && !pod.CreationTimestamp.Time.Before(w.since) {
		return true, "created during the check under ServiceAccount " + sa
	}
	return false, ""
}

// owned walks owner references up to an object the check created.
func (w *workload) owned(ctx context.Context, kc *kube.Client, ns string, refs []metav1.OwnerReference, depth int) bool {
	if depth >= maxOwnerDepth {
		return false
	}
	for _, ref := range refs {
		if w.created[ref.UID] {
			return true
		}
		known, ok := w.owners[ref.UID]
		if !ok {
			// An owner that cannot be read (gone, or not ours to read) leads nowhere; the
			// ServiceAccount rule still catches pods the workload runs.
			owner, err := kc.Owner(ctx, ns, ref)
			known = err == nil && w.owned(ctx, kc, ns, owner.GetOwnerReferences(), depth+1)
			w.owners[ref.UID] = known
		}
		if known {
			return true
		}
	}
	return false
}

// members lists the workload's pods among pods, in namespace/name order.
func (w *workload) members(ctx context.Context, kc *kube.Client, pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for i := range pods {
		if ok, _ := w.member(ctx, kc, &pods[i]); ok {
			out = append(out, pods[i])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out
}

// objectNamespaces lists the namespaces the manifests' namespaced objects go to, objects
// without one taken to be in ns, and the Namespaces the manifests define themselves.
func objectNamespaces(kc *kube.Client, objs []*unstructured.Unstructured, ns string) (used, defined []string) {
	seen := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			defined = append(defined, o.GetName())
			continue
		}
		if !kc.Namespaced(o) {
			continue
		}
		n := o.GetNamespace()
		if n == "" {
			n = ns
		}
		seen[n] = true
	}
	for n := range seen {
		used = append(used, n)
	}
	sort.Strings(used)
	return used, defined
}

// refuseSystemNamespaces stops a check on someone else's cluster from installing into
// the cluster's own namespaces unless asked to.
func refuseSystemNamespaces(used, defined []string) error {
	var system []string
	for _, n := range append(slices.Clone(used), defined...) {
		if slices.Contains(SystemNamespaces, n) && !slices.Contains(system, n) {
			system = append(system, n)
		}
	}
	if len(system) == 0 {
		return nil
	}
	return field.Forbidden(field.NewPath("AllowSystemNamespaces"),
		fmt.Sprintf("the manifests install into %s of an existing cluster: allow it explicitly (the check deletes exactly what it created there afterwards)", strings.Join(system, ", ")))
}
