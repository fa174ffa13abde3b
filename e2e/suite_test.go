//go:build e2e

package e2e

import (
	"testing"

	"github.com/satoken-e2e/satoken-e2e/internal/check"
)

// The scenarios, after TestSmoke (Go runs test files in name order: smoke_ < suite_).

// TestExpiry runs the 10-minute scenarios side by side on the suite's cluster (they use
// disjoint namespaces): the reproduction over the whole matrix and the add-on gate.
func TestExpiry(t *testing.T) {
	testenv.TestInParallel(t, reproductionFeature(),
		addonCheckFeature("good-addon.yaml", true, check.MutatePolicy),
		addonCheckFeature("bad-addon.yaml", false, check.MutateManifests))
}

// TestLong runs the hour-long scenarios side by side (label scenario=long, not in CI).
func TestLong(t *testing.T) {
	testenv.TestInParallel(t, automountFeature(), gracePeriodFeature())
}
