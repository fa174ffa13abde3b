package target

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// namespaceGoneTimeout bounds the wait for deleted namespaces to disappear (their pods
// stop within a second: satoken's pods have a 1 s grace period).
const namespaceGoneTimeout = 3 * time.Minute

// DeleteNamespaces deletes the namespaces and waits until they are gone, so that "nothing
// left behind" is true when it returns.
func DeleteNamespaces(ctx context.Context, kc *kube.Client, names []string) error {
	for _, ns := range names {
		if err := kc.Typed.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns, err)
		}
	}
	left := names
	return waits.Until(ctx, waits.Input{What: fmt.Sprintf("namespaces %v gone", names), Every: time.Second, Timeout: namespaceGoneTimeout},
		func(ctx context.Context) (bool, string, error) {
			var still []string
			for _, ns := range left {
				if _, err := kc.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					still = append(still, ns)
				}
			}
			left = still
			return len(left) == 0, fmt.Sprintf("%v still terminating", left), nil
		})
}

// Leftovers lists the namespaces satoken created (they carry its label) that still exist.
func Leftovers(ctx context.Context, kc *kube.Client) ([]string, error) {
	list, err := kc.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.PartOfSelector})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out, nil
}
