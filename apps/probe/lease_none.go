//go:build nolease

package main

import (
	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"k8s.io/client-go/kubernetes"
)

// leaseLockAvailable: client-go before v11.0.0 (Kubernetes 1.14) has no Lease lock
// (tag nolease), so checkMode refuses --mode lease before anything else happens.
const leaseLockAvailable = false

// runLease is never called in this build (see leaseLockAvailable).
func runLease(kubernetes.Interface, string, string, string, func(probelog.Line)) {}
