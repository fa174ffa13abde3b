package target

import (
	"context"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// Access is one thing a session needs to do in the cluster.
type Access struct {
	Verb, Group, Resource, Subresource string
	Namespace                          string // "" for cluster-scoped resources
}

func (a Access) String() string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("%s %s in namespace %s", a.Verb, r, a.Namespace)
	}
	return a.Verb + " " + r
}

// NamespaceAccess is what a session needs to run pods in a namespace of its own: create
// and delete the namespace, give a ServiceAccount the right to list pods there (which
// needs that right itself), and create, watch, read the logs of and delete pods.
func NamespaceAccess(ns string) []Access {
	out := []Access{{Verb: "create", Resource: "namespaces"}, {Verb: "delete", Resource: "namespaces"}}
	for _, a := range []Access{
		{Verb: "create", Resource: "serviceaccounts"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
		{Verb: "create", Resource: "pods"},
		{Verb: "get", Resource: "pods"},
		{Verb: "list", Resource: "pods"},
		{Verb: "delete", Resource: "pods"},
		{Verb: "get", Resource: "pods", Subresource: "log"},
	} {
		a.Namespace = ns
		out = append(out, a)
	}
	return out
}

const reachTimeout = 20 * time.Second

// Reach refuses a cluster that does not answer.
func Reach(ctx context.Context, kc *kube.Client, t Target) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	if _, err := discovery.ToServerVersionInterfaceWithContext(kc.Typed.Discovery()).ServerVersionWithContext(ctx); err != nil {
		return fmt.Errorf("cannot reach the %s (kubeconfig %s): %w", t.Describe(), t.Kubeconfig, err)
	}
	return nil
}

// Preflight refuses, before anything is deployed, a cluster (already reached) on which the
// session lacks any of the rights in need, or where one of its namespaces exists already.
func Preflight(ctx context.Context, kc *kube.Client, t Target, need []Access, namespaces []string) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	var missing []string
	seen := map[Access]bool{}
	for _, a := range need {
		if seen[a] {
			continue
		}
		seen[a] = true
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Namespace: a.Namespace},
		}}
		got, err := kc.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("%s: asking the cluster what this user may do: %w", t.Describe(), err)
		}
		if !got.Status.Allowed {
			missing = append(missing, a.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: this user may not %s; nothing was deployed (use a context with these rights)", t.Describe(), strings.Join(missing, ", "))
	}
	for _, ns := range namespaces {
		_, err := kc.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case err == nil:
			return fmt.Errorf("%s: namespace %s exists already (another satoken session, or a leftover: satoken clean --kubeconfig %s); nothing was deployed", t.Describe(), ns, t.Kubeconfig)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("%s: namespace %s: %w", t.Describe(), ns, err)
		}
	}
	return nil
}
