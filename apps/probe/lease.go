//go:build !nolease

package main

import (
	"context"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leaseLockAvailable: client-go has resourcelock.LeaseLock from v11.0.0 (Kubernetes 1.14) on,
// with the same fields and RunOrDie(ctx, config) in every release since.
const leaseLockAvailable = true

// The timings controllers use (kube-controller-manager's defaults): the holder renews
// every RetryPeriod, gives up after RenewDeadline without a successful renew. A variable
// only so that tests can run them faster.
var leaseTimings = struct{ duration, renewDeadline, retryPeriod time.Duration }{
	15 * time.Second, 10 * time.Second, 2 * time.Second}

// runLease runs leader election on the Lease ns/name as id and returns once it has
// stopped leading: a failed renew (e.g. 401s) for RenewDeadline loses the lease.
func runLease(cs kubernetes.Interface, ns, name, id string, emit func(probelog.Line)) {
	leader := func(event, who string) {
		emit(probelog.Line{Kind: probelog.KindLeader, Event: event, Object: ns + "/" + name, Identity: who})
	}
	leaderelection.RunOrDie(context.Background(), leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: name},
			Client:     cs.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id},
		},
		LeaseDuration: leaseTimings.duration,
		RenewDeadline: leaseTimings.renewDeadline,
		RetryPeriod:   leaseTimings.retryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { leader("started", id) },
			OnStoppedLeading: func() { leader("stopped", id) },
			OnNewLeader:      func(who string) { leader("new-leader", who) },
		},
	})
}
