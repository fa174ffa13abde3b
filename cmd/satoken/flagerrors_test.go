package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/registry"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
)

// Internal packages name the Input field; the CLI names the flag.
func TestInputErrorsNameTheFlag(t *testing.T) {
	err := repro.Input{TTL: 5 * time.Minute, Interval: 5 * time.Second, Settle: 5 * time.Minute}.Validate()
	require.EqualError(t, asFlagError(err), "--ttl 5m0s: a projected token's expirationSeconds must be at least 10m0s")

	err = repro.Input{TTL: 10 * time.Minute, Interval: 5 * time.Second, Settle: 30 * time.Second}.Validate()
	require.EqualError(t, asFlagError(fmt.Errorf("wrapped: %w", err)), "--settle 30s: a failure needs at least 1m0s of refusals to be told from a slow reload")

	_, err = registry.Parse("localhost:5000")
	require.ErrorContains(t, asFlagError(err), "--registry localhost:5000: want HOST[:PORT]/PATH")

	_, err = check.LoadManifests("")
	require.EqualError(t, asFlagError(err), "--manifests is required: a file, a kustomization directory, or a directory of manifests")

	other := errors.New("docker: not found")
	require.Equal(t, other, asFlagError(other))
}
