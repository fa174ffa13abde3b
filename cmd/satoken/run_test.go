package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func TestParseExpect(t *testing.T) {
	got, err := parseExpect("v0.15.7=RELOADS, v8.0.0=fails_after_expiry")
	require.NoError(t, err)
	require.Equal(t, map[string]verdict.Verdict{"v0.15.7": verdict.Reloads, "v8.0.0": verdict.FailsAfterExpiry}, got)

	empty, err := parseExpect("")
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, bad := range []string{"v8.0.0", "=RELOADS", "v8.0.0=BROKEN"} {
		_, err := parseExpect(bad)
		require.Error(t, err, bad)
	}
}

func TestApplyExpectations(t *testing.T) {
	rep := &report.Report{Probes: []report.Probe{{ClientGo: "v8.0.0", Verdict: verdict.FailsAfterExpiry}}}
	require.NoError(t, applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.FailsAfterExpiry}))
	require.True(t, rep.Passed)

	rep.Expectations = nil
	err := applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.Reloads})
	var ee *exitError
	require.True(t, errors.As(err, &ee))
	require.Equal(t, exitGate, ee.code, "a missed expectation is a gate failure, not a harness error")
	require.False(t, rep.Passed)
	require.False(t, rep.Expectations[0].Met)
}
