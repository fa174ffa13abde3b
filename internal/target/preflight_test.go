package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
)

// fakeCluster allows every access review except the denied ones.
func fakeCluster(denied map[string]bool, objs ...runtime.Object) *kube.Client {
	cs := fake.NewSimpleClientset(objs...)
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = !denied[Access{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace}.String()]
		return true, r, nil
	})
	return &kube.Client{Typed: cs}
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	tg := Target{Name: "ctx", Kubeconfig: "kc", Existing: true}
	need := NamespaceAccess("satoken-v8-0-0")

	require.NoError(t, Preflight(ctx, fakeCluster(nil), tg, need, []string{"satoken-v8-0-0"}))

	err := Preflight(ctx, fakeCluster(map[string]bool{"create namespaces": true, "get pods/log in namespace satoken-v8-0-0": true}), tg, need, nil)
	require.ErrorContains(t, err, "may not create namespaces, get pods/log in namespace satoken-v8-0-0; nothing was deployed")

	taken := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "satoken-v8-0-0"}}
	err = Preflight(ctx, fakeCluster(nil, taken), tg, need, []string{"satoken-v8-0-0"})
	require.ErrorContains(t, err, "namespace satoken-v8-0-0 exists already")
}

func TestLeftoversAreSatokensOnly(t *testing.T) {
	ours := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "satoken-v8-0-0", Labels: map[string]string{kube.PartOfKey: kube.PartOfValue}}}
	theirs := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}
	kc := fakeCluster(nil, ours, theirs)
	left, err := Leftovers(context.Background(), kc)
	require.NoError(t, err)
	require.Equal(t, []string{"satoken-v8-0-0"}, left)
	require.NoError(t, DeleteNamespaces(context.Background(), kc, left))
	left, err = Leftovers(context.Background(), kc)
	require.NoError(t, err)
	require.Empty(t, left)
	_, err = kc.Typed.CoreV1().Namespaces().Get(context.Background(), "prod", metav1.GetOptions{})
	require.NoError(t, err, "other namespaces are left alone")
}

// An apiserver that accepts the connection but never answers is given up on when the
// context ends (reachTimeout, or Ctrl-C), not waited for.
func TestReachGivesUpWithItsContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = Reach(ctx, &kube.Client{Typed: cs}, Target{Name: "ctx", Kubeconfig: "kc", Existing: true})
	require.ErrorContains(t, err, "cannot reach the existing cluster (context ctx)")
	require.Less(t, time.Since(start), 5*time.Second)
}
