package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// How a check gives the workload's pods short tokens.
const (
	MutateAuto      = "auto"      // the admission policy where the cluster serves it, else the manifests
	MutatePolicy    = "policy"    // a MutatingAdmissionPolicy, or an error
	MutateManifests = "manifests" // rewrite the manifests (ShortenTokens)
)

// MutateModes lists the --mutate values.
var MutateModes = []string{MutateAuto, MutatePolicy, MutateManifests}

const (
	// policyPrefix begins the name of each check's token policy and binding: several
	// checks may run on one cluster at once, each with its own.
	policyPrefix   = "satoken-token-ttl-"
	admissionGroup = "admissionregistration.k8s.io"
	// tokenSourcesPerVolume bounds the token projections shortened in one volume: each
	// mutation shortens the first long one of every volume, because Kubernetes' CEL (1.33
	// compatibility) cannot flatten the per-volume lists a single pass would need.
	tokenSourcesPerVolume = 4
)

// PolicyAPI returns the group/version under which the cluster serves
// MutatingAdmissionPolicy, newest first, or "" when it serves none.
func PolicyAPI(kc *kube.Client) (string, error) {
	for _, v := range []string{"v1", "v1beta1", "v1alpha1"} {
		gv := admissionGroup + "/" + v
		list, err := kc.Typed.Discovery().ServerResourcesForGroupVersion(gv)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("discovering %s: %w", gv, err)
		}
		for _, r := range list.APIResources {
			if r.Name == "mutatingadmissionpolicies" {
				return gv, nil
			}
		}
	}
	return "", nil
}

// tokenPolicy sets expirationSeconds of every serviceAccountToken projection of the
// workload's new pods: those running under one of its ServiceAccounts (namespace/name) or
// in a namespace the check created. It covers the automounted kube-api-access volume
// (added by the ServiceAccount admission plugin, which runs before policies) and explicit
// projections alike, and pods an operator creates later; every other pod of the cluster,
// kube-system's included, keeps its tokens.
func tokenPolicy(groupVersion, name string, ttlSeconds int64, w *workload) []*unstructured.Unstructured {
	// (A pod labelled dryRunLabel=name matches too: installPolicy's dry run.)
	long := fmt.Sprintf("has(s.serviceAccountToken) && (!has(s.serviceAccountToken.expirationSeconds) || s.serviceAccountToken.expirationSeconds != %d)", ttlSeconds)
	hasLong := "has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(s, " + long + ")"
	// One JSON patch per volume, for its first long token projection; JSON patch "add"
	// replaces an existing member.
	patch := fmt.Sprintf(`object.spec.volumes.transformList(i, v, %s, JSONPatch{op: "add", `+
		`path: "/spec/volumes/" + string(i) + "/projected/sources/" + string(v.projected.sources.transformList(j, s, %s, j)[0]) + "/serviceAccountToken/expirationSeconds", `+
		`value: %d})`, hasLong, long, ttlSeconds)
	mutations := make([]any, tokenSourcesPerVolume)
	for i := range mutations {
		mutations[i] = map[string]any{"patchType": "JSONPatch", "jsonPatch": map[string]any{"expression": patch}}
	}
	// The ServiceAccount admission plugin has set serviceAccountName by now; the fallback
	// keeps the expression total.
	member := fmt.Sprintf(`(request.namespace + "/" + (has(object.spec.serviceAccountName) && object.spec.serviceAccountName != "" ? object.spec.serviceAccountName : "default")) in %s || request.namespace in %s`+
		` || (has(object.metadata.labels) && %q in object.metadata.labels && object.metadata.labels[%q] == %q)`,
		celList(w.serviceAccounts), celList(w.namespaces), dryRunLabel, dryRunLabel, name)
	policy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": groupVersion, "kind": "MutatingAdmissionPolicy",
		"metadata": policyMeta(name),
		"spec": map[string]any{
			"failurePolicy":      "Fail",
			"reinvocationPolicy": "Never",
			"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
				"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE"}, "resources": []any{"pods"},
			}}},
			"matchConditions": []any{
				map[string]any{"name": "workload-pod", "expression": member},
				map[string]any{"name": "has-long-token", "expression": "has(object.spec.volumes) && object.spec.volumes.exists(v, " + hasLong + ")"},
			},
			"mutations": mutations,
		},
	}}
	var values []any
	for _, ns := range w.policyNamespaces() {
		values = append(values, ns)
	}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": groupVersion, "kind": "MutatingAdmissionPolicyBinding",
		"metadata": policyMeta(name),
		"spec": map[string]any{
			"policyName": name,
			"matchResources": map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{map[string]any{
				"key": "kubernetes.io/metadata.name", "operator": "In", "values": values,
			}}}},
		},
	}}
	return []*unstructured.Unstructured{policy, binding}
}

// policyMeta names a policy object and labels it as satoken's, for satoken clean.
func policyMeta(name string) map[string]any {
	return map[string]any{"name": name, "labels": map[string]any{kube.PartOfKey: kube.PartOfValue}}
}

// policyNamespaces are the namespaces the workload's pods can be created in.
func (w *workload) policyNamespaces() []string {
	out := slices.Clone(w.namespaces)
	for _, sa := range w.serviceAccounts {
		if ns, _, _ := strings.Cut(sa, "/"); !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// celList renders strings as a CEL list literal.
func celList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// dryRunLabel marks the server-side dry-run pod that shows a check's policy in effect;
// its value names the policy, so no other pod matches.
const dryRunLabel = "satoken.io/token-policy-dry-run"

// installPolicy creates the token policy and waits until the apiserver applies it, which
// it does asynchronously: a server-side dry-run pod (labelled for this policy, under its
// namespace's default ServiceAccount, before any of the workload's objects exist) must
// come back shortened.
func installPolicy(ctx context.Context, kc *kube.Client, groupVersion, name string, ttlSeconds int64, w *workload) error {
	if _, err := kc.Create(ctx, tokenPolicy(groupVersion, name, ttlSeconds, w), ""); err != nil {
		return err
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "satoken-policy-probe-", Namespace: w.policyNamespaces()[0], Labels: map[string]string{dryRunLabel: name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "satoken.invalid/dry-run"}}},
	}
	return waits.Until(ctx, waits.Input{What: fmt.Sprintf("MutatingAdmissionPolicy %s in effect", name), Every: time.Second, Timeout: time.Minute},
		func(ctx context.Context) (bool, string, error) {
			got, err := kc.Typed.CoreV1().Pods(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return false, err.Error(), nil
			}
			ttls := TokenTTLs(got.Spec)
			return len(ttls) > 0 && allEqual(ttls, ttlSeconds), fmt.Sprintf("dry-run pod token TTLs %v", ttls), nil
		})
}

// RemovePolicies deletes every token policy and binding of satoken's where the cluster
// serves the API (leftovers of interrupted checks: satoken clean).
func RemovePolicies(ctx context.Context, kc *kube.Client) error {
	groupVersion, err := PolicyAPI(kc)
	if err != nil || groupVersion == "" {
		return err
	}
	gv, err := schema.ParseGroupVersion(groupVersion)
	if err != nil {
		return err
	}
	var errs []error
	for _, resource := range []string{"mutatingadmissionpolicybindings", "mutatingadmissionpolicies"} {
		ri := kc.Dynamic.Resource(gv.WithResource(resource))
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: kube.PartOfSelector})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", resource, err))
			continue
		}
		for _, o := range list.Items {
			if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("removing %s %s: %w", resource, o.GetName(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// removePolicy deletes a check's token policy and its binding, if present.
func removePolicy(ctx context.Context, kc *kube.Client, groupVersion, name string) error {
	gv, err := schema.ParseGroupVersion(groupVersion)
	if err != nil {
		return err
	}
	for _, resource := range []string{"mutatingadmissionpolicybindings", "mutatingadmissionpolicies"} {
		err := kc.Dynamic.Resource(gv.WithResource(resource)).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing %s %s: %w", resource, name, err)
		}
	}
	return nil
}

// TokenTTLs lists the expirationSeconds of the pod's ServiceAccount token projections
// (0 where unset: the apiserver's default of 1h).
func TokenTTLs(spec corev1.PodSpec) []int64 {
	var out []int64
	for _, v := range spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken == nil {
				continue
			}
			var ttl int64
			if s.ServiceAccountToken.ExpirationSeconds != nil {
				ttl = *s.ServiceAccountToken.ExpirationSeconds
			}
			out = append(out, ttl)
		}
	}
	return out
}

func allEqual(l []int64, want int64) bool {
	for _, v := range l {
		if v != want {
			return false
		}
	}
	return true
}

// describeMutation says, for the report and log, how the tokens were shortened.
func describeMutation(groupVersion string) string {
	if groupVersion == "" {
		return "manifest rewrite"
	}
	return "MutatingAdmissionPolicy (" + strings.TrimPrefix(groupVersion, admissionGroup+"/") + ")"
}
