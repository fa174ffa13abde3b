package report

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// measuredOn is a probe result whose client sent its first token and, when switchAfter
// > 0, a second one issued at rotateAt and first sent switchAfter later.
func measuredOn(label string, accelerated bool, v verdict.Verdict, iat time.Time, ttl, rotateAt, switchAfter time.Duration) Result {
	// The probe reads every token the kubelet writes (Tokens), switching or not; what the
	// client sent is in Credentials.
	next := iat.Add(cmp.Or(rotateAt, ttl*4/5))
	tokens := []verdict.Token{{Hash: "a", Iat: iat, Exp: iat.Add(ttl), ReadAt: iat}, {Hash: "b", Iat: next, Exp: next.Add(ttl), ReadAt: next.Add(2 * time.Second), Rotation: 1}}
	sent := []verdict.Credential{{Hash: "a", FirstUsedAt: iat}}
	if switchAfter > 0 {
		sent = append(sent, verdict.Credential{Hash: "b", FirstUsedAt: next.Add(switchAfter)})
	}
	return Result{K8sVersion: "v1.34.4", Accelerated: accelerated, Verdict: v, Reason: string(v) + " because",
		Observation: verdict.Observation{Tokens: tokens, Credentials: sent}, Probe: &ProbeResult{ClientGo: label}}
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

// TestReadmeCrossCheckIsGenerated: the cross-check block of docs/accelerated.md is the
// rendering of fixtures/cross-check.json, which make cross-check writes from a run; never
// typed.
func TestReadmeCrossCheckIsGenerated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "cross-check.json"))
	require.NoError(t, err)
	var tbl CrossCheckTable
	require.NoError(t, json.Unmarshal(data, &tbl))
	require.NotEmpty(t, tbl.Runs, "the checked-in cross-check holds a measured run")
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "accelerated.md"))
	require.NoError(t, err)
	want, err := tbl.ReplaceInReadme(string(doc))
	require.NoError(t, err)
	require.Equal(t, want, string(doc), "docs/accelerated.md's cross-check differs from fixtures/cross-check.json: run make cross-check (or satoken crosscheck --from REPORT --table fixtures/cross-check.json --readme docs/accelerated.md)")
}

// TestCrossCheckTableKeepsTheLatestPerVersion: a newer cross-check of a version replaces
// the older; one that ended early is refused.
func TestCrossCheckTableKeepsTheLatestPerVersion(t *testing.T) {
	at := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	mk := func(finished time.Time, v verdict.Verdict) *Report {
		return &Report{FinishedAt: finished, ValidatorLeewaySeconds: 60,
			Clusters: []Cluster{{K8sVersion: "v1.34.4", TTLSeconds: 600}, {K8sVersion: "v1.34.4", TTLSeconds: 120, AcceleratedMinTokenSeconds: 60}},
			Results: []Result{measuredOn("v8.0.0", false, verdict.FailsAfterExpiry, at, 600*time.Second, 0, 0),
				measuredOn("v8.0.0", true, v, at, 120*time.Second, 0, 0)}}
	}
	var tbl CrossCheckTable
	require.NoError(t, tbl.Add(mk(at, verdict.FailsAfterExpiry)))
	require.NoError(t, tbl.Add(mk(at.Add(-time.Hour), verdict.Reloads)), "an older run is accepted and ignored")
	require.Len(t, tbl.Runs, 1)
	require.True(t, tbl.Runs[0].Rows[0].Same)
	require.Equal(t, 600, tbl.Runs[0].StockTTLSeconds)
	require.Equal(t, 120, tbl.Runs[0].AcceleratedTTLSeconds)
	failed := mk(at.Add(time.Hour), verdict.Reloads)
	failed.Error = "interrupted"
	require.ErrorContains(t, tbl.Add(failed), "ended early")
	require.ErrorContains(t, tbl.Add(&Report{}), "pairs no stock with an accelerated result")
}
