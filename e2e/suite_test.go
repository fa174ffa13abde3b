//go:build e2e

package e2e

import (
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/features"
)

// The scenarios; the env Setup (TestMain) has made the suite's cluster and proved it fit
// (smoke) before any of them runs.

// TestExpiry runs the 10-minute scenarios side by side on the suite's cluster (they use
// disjoint namespaces): the reproduction over the whole matrix and the add-on gates, and the
// reproduction through the CLI on a cluster satoken did not make (a cluster of its own).
func TestExpiry(t *testing.T) {
	testenv.TestInParallel(t, append([]features.Feature{reproductionFeature(), existingClusterFeature()}, addonFeatures()...)...)
}

// TestLong runs the hour-long scenarios side by side (label scenario=long, not in CI).
func TestLong(t *testing.T) {
	testenv.TestInParallel(t, automountFeature(), gracePeriodFeature())
}

// TestFaults injects faults on clusters of their own: a probe pod deleted and the
// kube-apiserver killed before the tokens expire, beside the kube-apiserver killed when
// they stop being accepted; then two run and two check sessions at once, and concurrent
// cluster create/delete cycles (label scenario=faults, in CI). The node container
// restarted, beside the audit log rotated during check (scenario=faults-extra), run with
// make e2e-faults.
func TestFaults(t *testing.T) {
	testenv.TestInParallel(t, faultsBeforeExpiry(), faultsInRefusalWindow())
	testenv.TestInParallel(t, faultsNodeRestart(), auditRotationFeature())
	testenv.Test(t, concurrentSessionsFeature(), concurrentClustersFeature())
}

// TestEngineRestart restarts the Docker engine under a running reproduction (label
// scenario=engine; make e2e-engine): it stops every cluster on the machine, so never in CI.
func TestEngineRestart(t *testing.T) {
	testenv.Test(t, faultsEngineRestart())
}
