package check

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

func TestTokenPolicy(t *testing.T) {
	w := newWorkload([]string{"kube-system/metrics-server"})
	w.add(kube.Object{Resource: corev1.SchemeGroupVersion.WithResource("namespaces"), Name: "addon"})
	objs := tokenPolicy("admissionregistration.k8s.io/v1beta1", "satoken-token-ttl-abc", 600, w)
	require.Len(t, objs, 2)
	policy, binding := objs[0], objs[1]
	require.Equal(t, "MutatingAdmissionPolicy", policy.GetKind())
	require.Equal(t, "admissionregistration.k8s.io/v1beta1", binding.GetAPIVersion())
	name, _, _ := unstructured.NestedString(binding.Object, "spec", "policyName")
	require.Equal(t, policy.GetName(), name)
	require.Equal(t, "satoken-token-ttl-abc", binding.GetName())
	require.Equal(t, kube.PartOfValue, binding.GetLabels()[kube.PartOfKey], "satoken clean finds leftovers by label")

	mutations, _, _ := unstructured.NestedSlice(policy.Object, "spec", "mutations")
	require.Len(t, mutations, tokenSourcesPerVolume)
	expr, _, _ := unstructured.NestedString(mutations[0].(map[string]any), "jsonPatch", "expression")
	require.Contains(t, expr, "expirationSeconds != 600", "already-short tokens are left alone, so repeated mutations converge")
	require.Contains(t, expr, "value: 600}")
	require.Equal(t, strings.Count(expr, "("), strings.Count(expr, ")"), expr)

	// The workload's pods, in kube-system too, and no other pod: kube-proxy and CoreDNS
	// keep their tokens.
	conds, _, _ := unstructured.NestedSlice(policy.Object, "spec", "matchConditions")
	require.Len(t, conds, 2)
	member := conds[0].(map[string]any)["expression"].(string)
	require.Contains(t, member, `in ["kube-system/metrics-server"] || request.namespace in ["addon"]`)
	require.Equal(t, strings.Count(member, "("), strings.Count(member, ")"), member)
	sel, _, _ := unstructured.NestedSlice(binding.Object, "spec", "matchResources", "namespaceSelector", "matchExpressions")
	require.Len(t, sel, 1)
	require.Equal(t, "In", sel[0].(map[string]any)["operator"])
	require.Equal(t, []any{"addon", "kube-system"}, sel[0].(map[string]any)["values"])
}

func TestCELList(t *testing.T) {
	require.Equal(t, `[]`, celList(nil))
	require.Equal(t, `["a/b", "q\"x"]`, celList([]string{"a/b", `q"x`}))
}

func podWithTokens(name string, ttls ...*int64) *podRun {
	var sources []corev1.VolumeProjection
	for _, ttl := range ttls {
		sources = append(sources, corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ttl}})
	}
	sources = append(sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{}})
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	if len(ttls) > 0 {
		pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}}}
	}
	return &podRun{pod: pod}
}

func TestCheckTokenTTLs(t *testing.T) {
	short := podWithTokens("short", ptr.To[int64](600), ptr.To[int64](600))
	none := podWithTokens("no-token")
	require.Equal(t, []int64{600, 600}, TokenTTLs(short.pod.Spec))
	require.NoError(t, checkTokenTTLs([]*podRun{short, none}, 10*time.Minute))

	long := podWithTokens("long", ptr.To[int64](600), ptr.To[int64](3607))
	unset := podWithTokens("unset", nil)
	err := checkTokenTTLs([]*podRun{short, long, unset}, 10*time.Minute)
	require.ErrorContains(t, err, "ns/long [600 3607], ns/unset [0]")
	require.NotContains(t, err.Error(), "ns/short")
}

func TestValidate(t *testing.T) {
	require.NoError(t, Validate(fixture(t, "good-addon.yaml")))
	require.ErrorIs(t, Validate(fixture(t, "good-addon.yaml")[:1]), errNoWorkload, "a Namespace alone")
	broken := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x"}}}
	require.ErrorContains(t, Validate([]*unstructured.Unstructured{broken}), "Deployment/x: no pod spec")
}

func TestDescribeMutation(t *testing.T) {
	require.Equal(t, "MutatingAdmissionPolicy (v1beta1)", describeMutation("admissionregistration.k8s.io/v1beta1"))
	require.Equal(t, "manifest rewrite", describeMutation(""))
}
