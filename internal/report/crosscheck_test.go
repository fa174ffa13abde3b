package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// measuredOn is a probe result whose client sent its first token and, when switchAfter
// > 0, a second one issued at rotateAt and first sent switchAfter later.
func measuredOn(label string, accelerated bool, v verdict.Verdict, iat time.Time, ttl, rotateAt, switchAfter time.Duration) Result {
	tokens := []verdict.Token{{Hash: "a", Iat: iat, Exp: iat.Add(ttl), ReadAt: iat}}
	if switchAfter > 0 {
		next := iat.Add(rotateAt)
		tokens = append(tokens, verdict.Token{Hash: "b", Iat: next, Exp: next.Add(ttl), ReadAt: next.Add(switchAfter), Rotation: 1})
	}
	return Result{K8sVersion: "v1.34.4", Accelerated: accelerated, Verdict: v, Reason: string(v) + " because",
		Observation: verdict.Observation{Tokens: tokens}, Probe: &ProbeResult{ClientGo: label}}
}

// TestCrossCheck: equal verdicts are counted; a difference is explained by the data only
// when the stock switch lag exceeds the accelerated margin, and otherwise says so.
func TestCrossCheck(t *testing.T) {
	at := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	stock, fast := 600*time.Second, 120*time.Second
	r := &Report{Command: "run", ValidatorLeewaySeconds: 60,
		Clusters: []Cluster{{K8sVersion: "v1.34.4"}, {K8sVersion: "v1.34.4", AcceleratedMinTokenSeconds: 60}},
		Results: []Result{
			measuredOn("v0.37.2", false, verdict.Reloads, at, stock, 480*time.Second, 40*time.Second),
			measuredOn("v10.0.0", false, verdict.Reloads, at, stock, 480*time.Second, 200*time.Second),
			measuredOn("v8.0.0", false, verdict.FailsAfterExpiry, at, stock, 0, 0),
			measuredOn("js-x", false, verdict.Reloads, at, stock, 480*time.Second, 30*time.Second),
			measuredOn("v0.37.2", true, verdict.Reloads, at, fast, 96*time.Second, 40*time.Second),
			measuredOn("v10.0.0", true, verdict.FailsAfterExpiry, at, fast, 0, 0),
			measuredOn("v8.0.0", true, verdict.FailsAfterExpiry, at, fast, 0, 0),
			measuredOn("js-x", true, verdict.NotJudged, at, fast, 0, 0),
		}}
	rows := CrossCheck(r)
	require.Len(t, rows, 4)
	require.True(t, rows[0].Same)
	require.Equal(t, 84.0, rows[0].MarginSeconds, "exp 120 s + 60 s leeway - successor issued at 96 s")

	require.False(t, rows[1].Same)
	require.Equal(t, 200.0, rows[1].SwitchLagSeconds)
	require.Equal(t, 84.0, rows[1].MarginSeconds, "the cluster's margin, from another client that switched")
	require.Contains(t, rows[1].Cause, "up to 3m20s after the kubelet issued it")
	require.Contains(t, rows[1].Cause, "refused 1m24s after its successor")

	require.True(t, rows[2].Same)

	require.False(t, rows[3].Same)
	require.NotContains(t, rows[3].Cause, "re-reads this slowly", "a 30 s lag is inside the margin: the data does not explain it")
	require.Contains(t, rows[3].Cause, "one side could not be judged")

	r.CrossCheck = rows
	md := r.Markdown()
	require.Contains(t, md, "2 of 4 clients drew the same verdict on both")
	require.Contains(t, md, "| v10.0.0 | v1.34.4 | RELOADS | FAILS_AFTER_EXPIRY | 200s | 84s | **differs** |")
	require.Contains(t, md, "| v1.34.4 | v1.34.4 accelerated |", "the matrix puts the accelerated cluster beside stock")
}
