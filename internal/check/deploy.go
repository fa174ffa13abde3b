package check

import (
	"context"
	"errors"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// needs is what the check does on an existing cluster: create the manifests' objects (and
// delete them again), and find, watch and read the workload's pods wherever they run.
func needs(kc *kube.Client, in Input) ([]target.Access, error) {
	need := []target.Access{{Verb: "create", Resource: "namespaces"}, {Verb: "delete", Resource: "namespaces"},
		{Verb: "list", Resource: "pods"}, {Verb: "watch", Resource: "pods"}, {Verb: "get", Resource: "pods", Subresource: "log"}}
	for _, o := range in.Manifests {
		a, err := kc.CreateAccess(o, in.Namespace)
		if meta.IsNoMatchError(err) {
			continue // a kind whose CRD the manifests create: the apply will tell
		}
		if err != nil {
			return nil, err
		}
		need = append(need, target.Access{Verb: "create", Group: a.Resource.Group, Resource: a.Resource.Resource, Namespace: a.Namespace},
			target.Access{Verb: "delete", Group: a.Resource.Group, Resource: a.Resource.Resource, Namespace: a.Namespace})
	}
	return need, nil
}

// deploy creates the namespaces (the manifests' own Namespace objects, then those the
// manifests use but do not define), gives the workload's pods short tokens (server-side
// where possible, in place before any pod is created), then creates the other objects in
// the order given — a chart's (CRDs, hooks, Helm's install order) or the files' — as
// `helm install` or `kubectl apply` would. j.created lists what did not exist before.
func (j *job) deploy(ctx context.Context, kc *kube.Client) error {
	in, w := j.in, j.work
	used, defined := objectNamespaces(kc, in.Manifests, in.Namespace)
	namespaces, rest := splitNamespaces(in.Manifests)
	if err := j.create(ctx, kc, namespaces); err != nil {
		return err
	}
	for _, ns := range used {
		if slices.Contains(defined, ns) {
			continue
		}
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{kube.PartOfKey: kube.PartOfValue}}}
		got, err := kc.Typed.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
		switch {
		case err == nil:
			j.record(kube.Object{Resource: corev1.SchemeGroupVersion.WithResource("namespaces"), Name: ns, UID: got.UID, Created: got.CreationTimestamp.Time})
		case !apierrors.IsAlreadyExists(err):
			return err
		}
	}
	ttl := int64(in.TTL.Seconds())
	var gv string
	// Someone else's cluster gets the admission policy only when asked for.
	if in.Mutate == MutatePolicy || (in.Mutate != MutateManifests && !in.Target.Existing) {
		var err error
		if gv, err = PolicyAPI(kc); err != nil {
			return err
		}
		if gv == "" && in.Mutate == MutatePolicy {
			return field.Invalid(field.NewPath("Mutate"), MutatePolicy, "the cluster does not serve MutatingAdmissionPolicy (Kubernetes 1.32+ with the feature gate)")
		}
	}
	j.tokenTTLBy = describeMutation(gv)
	if gv != "" {
		j.policyGV, j.policyName = gv, policyPrefix+rand.String(6)
		if err := installPolicy(ctx, kc, gv, j.policyName, ttl, w); err != nil {
			return err
		}
		in.Log.Printf("token TTL: new pods under ServiceAccounts %s get %ds tokens from %s", strings.Join(w.serviceAccounts, ", "), ttl, j.tokenTTLBy)
	} else {
		changes, err := ShortenTokens(rest, ttl)
		if err != nil {
			return err
		}
		for _, c := range changes {
			in.Log.Printf("token TTL (manifest rewrite): %s", c)
		}
	}
	return j.create(ctx, kc, rest)
}

// splitNamespaces separates the manifests' Namespace objects from the rest (both in their
// order): namespaces are created first, as Helm and kubectl order them.
func splitNamespaces(objs []*unstructured.Unstructured) (namespaces, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		if gvk := o.GroupVersionKind(); gvk.Kind == "Namespace" && gvk.Group == "" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	return namespaces, rest
}

// create creates objs (namespaced ones without a namespace in the input's) and records
// what it created.
func (j *job) create(ctx context.Context, kc *kube.Client, objs []*unstructured.Unstructured) error {
	created, err := kc.Create(ctx, objs, j.in.Namespace)
	j.record(created...)
	return err
}

func (j *job) record(objs ...kube.Object) {
	j.created = append(j.created, objs...)
	j.work.add(objs...)
}

// cleanup deletes what the check created, namespaces last, and waits for the namespaces.
func cleanup(ctx context.Context, kc *kube.Client, created []kube.Object) error {
	var namespaces []string
	var objs []kube.Object
	for _, o := range created {
		if o.Resource.Resource == "namespaces" && o.Resource.Group == "" {
			namespaces = append(namespaces, o.Name)
			continue
		}
		objs = append(objs, o)
	}
	return errors.Join(kc.Delete(ctx, objs), target.DeleteNamespaces(ctx, kc, namespaces))
}
