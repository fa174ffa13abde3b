package check

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// fakeCluster is a kube.Client over fake clients that know the kinds these tests use; a
// custom resource kind ("Widget") is not served.
func fakeCluster(objs ...runtime.Object) *kube.Client {
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk   schema.GroupVersionKind
		scope meta.RESTScope
	}{
		{corev1.SchemeGroupVersion.WithKind("Pod"), meta.RESTScopeNamespace},
		{corev1.SchemeGroupVersion.WithKind("ServiceAccount"), meta.RESTScopeNamespace},
		{corev1.SchemeGroupVersion.WithKind("Service"), meta.RESTScopeNamespace},
		{corev1.SchemeGroupVersion.WithKind("Namespace"), meta.RESTScopeRoot},
		{appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace},
		{appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), meta.RESTScopeNamespace},
		{appsv1.SchemeGroupVersion.WithKind("DaemonSet"), meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot},
		{schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}, meta.RESTScopeRoot},
	} {
		mapper.Add(k.gvk, k.scope)
	}
	return kube.FromClients(fake.NewSimpleClientset(), dynamicfake.NewSimpleDynamicClient(clientgoscheme.Scheme, objs...), mapper)
}

func ownedBy(kind, name string, uid types.UID) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: uid, Controller: ptrTrue()}}
}

func ptrTrue() *bool { b := true; return &b }

// An add-on installed into kube-system: its Deployment's pod is the workload; kube-proxy
// beside it, and a pod under the add-on's ServiceAccount that ran before the check, are
// not.
func TestWorkloadMembersInKubeSystem(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "metrics-server-5d", UID: "rs-1",
		OwnerReferences: ownedBy("Deployment", "metrics-server", "dep-1")}}
	proxyDS := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy", UID: "ds-proxy"}}
	kc := fakeCluster(rs, proxyDS)

	w := newWorkload([]string{"kube-system/metrics-server"})
	w.add(kube.Object{Resource: appsv1.SchemeGroupVersion.WithResource("deployments"), Namespace: "kube-system", Name: "metrics-server", UID: "dep-1", Created: start})

	pod := func(name, sa string, created time.Time, owners []metav1.OwnerReference) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, CreationTimestamp: metav1.Time{Time: created}, OwnerReferences: owners},
			Spec: corev1.PodSpec{ServiceAccountName: sa}}
	}
	pods := []corev1.Pod{
		pod("kube-proxy-x", "kube-proxy", start.Add(-time.Hour), ownedBy("DaemonSet", "kube-proxy", "ds-proxy")),
		pod("metrics-server-5d-abc", "metrics-server", start.Add(5*time.Second), ownedBy("ReplicaSet", "metrics-server-5d", "rs-1")),
		pod("old-metrics", "metrics-server", start.Add(-time.Minute), nil),
		pod("operand", "metrics-server", start.Add(4*time.Minute), nil),
		pod("coredns-y", "coredns", start.Add(time.Minute), nil),
	}
	got := w.members(context.Background(), kc, pods)
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"metrics-server-5d-abc", "operand"}, names)

	ok, why := w.member(context.Background(), kc, &pods[1])
	require.True(t, ok)
	require.Equal(t, "owned by an object of the manifests", why)
	ok, why = w.member(context.Background(), kc, &pods[3])
	require.True(t, ok)
	require.Contains(t, why, "created during the check under ServiceAccount kube-system/metrics-server")
}

// A pod whose owner cannot be read (deleted, or not ours to read) is not taken for the
// workload's by its owner; a pod in a namespace the check created always is.
func TestWorkloadMembersUnreadableOwnerAndOwnNamespace(t *testing.T) {
	kc := fakeCluster()
	w := newWorkload(nil)
	w.add(kube.Object{Resource: corev1.SchemeGroupVersion.WithResource("namespaces"), Name: "addon", UID: "ns-1", Created: time.Now()})
	gone := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "p", OwnerReferences: ownedBy("ReplicaSet", "gone", "rs-x")}}
	mine := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "addon", Name: "q"}}
	got := w.members(context.Background(), kc, []corev1.Pod{gone, mine})
	require.Len(t, got, 1)
	require.Equal(t, "q", got[0].Name)
}

// An owner chain that loops (a corrupt or adversarial owner graph) ends.
func TestWorkloadOwnerLoopEnds(t *testing.T) {
	a := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "a", UID: "a", OwnerReferences: ownedBy("ReplicaSet", "b", "b")}}
	b := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "b", UID: "b", OwnerReferences: ownedBy("ReplicaSet", "a", "a")}}
	kc := fakeCluster(a, b)
	w := newWorkload(nil)
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "p", OwnerReferences: ownedBy("ReplicaSet", "a", "a")}}
	ok, _ := w.member(context.Background(), kc, &pod)
	require.False(t, ok)
}

func TestServiceAccountsOf(t *testing.T) {
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "ms", "namespace": "kube-system"}}},
		{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "ms", "namespace": "kube-system"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "ms"}}}}},
		// The deprecated field, as old manifests spell it, in the input's namespace.
		{Object: map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": map[string]any{"name": "agent"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccount": "agent"}}}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "x"}, "spec": map[string]any{}}},
	}
	require.Equal(t, []string{"kube-system/ms", "mine/agent", "x/default"}, serviceAccountsOf(objs, "mine"))
}

func TestObjectNamespacesAndSystemNamespaces(t *testing.T) {
	kc := fakeCluster()
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "ms", "namespace": "kube-system"}}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "r"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "s"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "own"}}},
	}
	used, defined := objectNamespaces(kc, objs, "satoken-check")
	require.Equal(t, []string{"kube-system", "satoken-check"}, used)
	require.Equal(t, []string{"own"}, defined)
	err := refuseSystemNamespaces(used, defined)
	require.ErrorContains(t, err, "kube-system")
	require.NoError(t, refuseSystemNamespaces([]string{"addon"}, nil))
}
