package table

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// probeOn is a probe result of client-go module mod measured on a cluster of k8s.
func probeOn(k8s, mod string, v verdict.Verdict) report.Result {
	return report.Result{K8sVersion: k8s, Verdict: v, Probe: &report.ProbeResult{ClientGo: mod, ClientGoModule: mod, K8sRelease: "1.20"}}
}

func runOf(finished time.Time, results ...report.Result) *report.Report {
	return &report.Report{Command: "run", FinishedAt: finished, TokenMode: "projected", TTLSeconds: 600, Results: results}
}

// TestTableKeepsMinorsApart: the same client on two Kubernetes minors is two entries with
// their own counts, whether the minors come in separate reports or in one matrix report.
func TestTableKeepsMinorsApart(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tbl, err := FromReports(
		runOf(at, probeOn("v1.34.4", "v0.20.0", verdict.Reloads)),
		runOf(at.Add(time.Hour), probeOn("v1.34.4", "v0.20.0", verdict.Reloads)),
		runOf(at.Add(2*time.Hour), probeOn("v1.37.2", "v0.20.0", verdict.FailsAfterExpiry)),
	)
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2, "one entry per minor, never pooled")
	v134, v137 := tbl.Entries[0], tbl.Entries[1]
	require.Equal(t, "v1.34", v134.K8sMinor)
	require.Equal(t, "v1.34.4", v134.K8sVersion)
	require.Equal(t, map[verdict.Verdict]int{verdict.Reloads: 2}, v134.Counts)
	require.Equal(t, verdict.Reloads, v134.Verdict, "a failure on another minor does not leak in")
	require.Equal(t, at.Add(time.Hour), v134.MeasuredAt)
	require.Equal(t, "v1.37", v137.K8sMinor)
	require.Equal(t, "v1.37.2", v137.K8sVersion)
	require.Equal(t, map[verdict.Verdict]int{verdict.FailsAfterExpiry: 1}, v137.Counts)

	md := tbl.Markdown()
	require.Contains(t, md, "| client-go | module | Kubernetes release | verdict on v1.34 | verdict on v1.37 |\n|---|---|---|---|---|\n")
	require.Contains(t, md, "| v0.20.0 | `v0.20.0` | 1.20 | **RELOADS** (2/2) | **FAILS_AFTER_EXPIRY** (1/1) |\n", "one row per client version")
	require.Contains(t, md, "latest run on each minor: v1.34.4, v1.37.2.")

	// One matrix report with results of several clusters: split by each result's version;
	// two patches of one minor stay one entry, which keeps the newer patch.
	matrix, err := FromReports(runOf(at,
		probeOn("v1.34.4", "v0.20.0", verdict.Reloads),
		probeOn("v1.37.2", "v0.20.0", verdict.Intermittent),
		probeOn("v1.34.5", "v0.20.0", verdict.Reloads),
		probeOn("v1.37.2", "v0.21.1", verdict.Reloads),
	))
	require.NoError(t, err)
	require.Len(t, matrix.Entries, 3)
	require.Equal(t, []string{"v1.34", "v1.37", "v1.37"}, []string{matrix.Entries[0].K8sMinor, matrix.Entries[1].K8sMinor, matrix.Entries[2].K8sMinor})
	require.Equal(t, 2, matrix.Entries[0].Runs)
	require.Equal(t, "v1.34.5", matrix.Entries[0].K8sVersion)
	require.Equal(t, verdict.Intermittent, matrix.Entries[1].Verdict)
	md = matrix.Markdown()
	require.Contains(t, md, "| v0.21.1 | `v0.21.1` | 1.20 | – | **RELOADS** (1/1) |\n", "not measured on v1.34")
}

// TestTableRefusesResultsWithoutK8sVersion: a probe result that does not say which
// Kubernetes it was measured on comes from an older satoken; nothing of the batch merges.
func TestTableRefusesResultsWithoutK8sVersion(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tbl, err := FromReports(runOf(at, probeOn("v1.34.4", "v0.20.0", verdict.Reloads)))
	require.NoError(t, err)

	old := runOf(at.Add(time.Hour), probeOn("v1.34.4", "v0.20.0", verdict.Reloads), probeOn("", "v0.21.1", verdict.Reloads))
	err = tbl.Add(old)
	require.ErrorContains(t, err, "run report finished 2026-12-01T11:00:00Z: v0.21.1 has no k8sVersion")
	require.ErrorContains(t, err, "older satoken")
	require.Len(t, tbl.Entries, 1)
	require.Equal(t, 1, tbl.Entries[0].Runs, "nothing of a refused batch is merged")

	for _, bad := range []string{"v1", "latest", "1.34.x"} {
		err = tbl.Add(runOf(at, probeOn(bad, "v0.20.0", verdict.Reloads)))
		require.ErrorContains(t, err, "is not a Kubernetes version", bad)
	}

	// Results the table leaves out need no version: a workload pod, a probe without verdict.
	_, err = FromReports(runOf(at, probeOn("v1.34.4", "v0.20.0", verdict.Reloads),
		report.Result{Verdict: verdict.Reloads, Workload: &report.WorkloadResult{Owner: "Deployment/addon"}},
		probeOn("", "v0.21.1", "")))
	require.NoError(t, err)
}

func TestLoadTableRefusesSchema2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "json")
	require.NoError(t, os.WriteFile(path, []byte(`{"schemaVersion": 2, "tokenMode": "projected", "ttlSeconds": 600,
		"entries": [{"label": "v8.0.0", "module": "v8.0.0+incompatible", "verdict": "FAILS_AFTER_EXPIRY", "k8sVersion": "v1.34.4"}]}`), 0o644))
	_, err := Load(path)
	require.ErrorContains(t, err, "schema version 2, want 3: written by an older satoken")
}

func TestK8sMinor(t *testing.T) {
	for in, want := range map[string]string{"v1.34.4": "v1.34", "1.34": "v1.34", "v1.37": "v1.37", "v1.30.2-eks-1234": "v1.30", "v1.34.4+k3s1": "v1.34"} {
		got, err := K8sMinor(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "v1", "latest", "v1.x"} {
		_, err := K8sMinor(bad)
		require.Error(t, err, bad)
	}
}

// TestTableRefusesSourceBuilds: a kubelet changed on a branch must not pass for its
// release in the table scan predicts from.
func TestTableRefusesSourceBuilds(t *testing.T) {
	for _, v := range []string{"v1.34.4-src", "v1.35.0-alpha.1.123-gabcdef0-dirty", "v1.35.0-alpha.1-123-gabcdef0", "v1.36.0-rc.0"} {
		require.ErrorContains(t, checkRelease(v), "built from source or a pre-release", v)
	}
	for _, v := range []string{"v1.34.4", "v1.34.4-eks-1", "v1.30.2-gke.1200"} {
		require.NoError(t, checkRelease(v), v)
	}
}

// TestTableRefusesAcceleratedRuns: a verdict measured on an accelerated control plane is
// never pooled with stock measurements, even at the table's own TTL.
func TestTableRefusesAcceleratedRuns(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	tbl, err := FromReports(runOf(at, probeOn("v1.34.4", "v0.20.0", verdict.Reloads)))
	require.NoError(t, err)
	fast := runOf(at.Add(time.Hour), probeOn("v1.34.4", "v8.0.0", verdict.FailsAfterExpiry))
	fast.Clusters = []report.Cluster{{K8sVersion: "v1.34.4", AcceleratedMinTokenSeconds: 60}}
	fast.Results[0].Accelerated = true
	require.ErrorContains(t, tbl.Add(fast), "accelerated control plane")
	require.Len(t, tbl.Entries, 1)
}
func TestTableFromReport(t *testing.T) {
	finished := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	rep := &report.Report{SchemaVersion: report.SchemaVersion, FinishedAt: finished, TTLSeconds: 600,
		Results: []report.Result{
			{K8sVersion: "v1.35.0", Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "v12.0.0", ClientGoModule: "v0.0.0-20190620085101-78d2af792bab", K8sRelease: "1.15"}},
			{K8sVersion: "v1.35.0", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2", ClientGoModule: "v0.37.2", K8sRelease: "1.37"}},
			{Probe: &report.ProbeResult{ClientGo: "v0.20.0", ClientGoModule: "v0.20.0", K8sRelease: "1.20"}}, // no verdict: left out
			{Verdict: verdict.Reloads, Workload: &report.WorkloadResult{Owner: "Deployment/addon"}},          // not a probe: left out
		}}
	tbl, err := FromReports(rep)
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2)
	require.Equal(t, []string{"v12.0.0", "v0.37.2"}, []string{tbl.Entries[0].Label, tbl.Entries[1].Label})
	first := tbl.Entries[0]
	require.Equal(t, finished, first.MeasuredAt)
	require.Equal(t, "v1.35.0", first.K8sVersion)
	require.Equal(t, "v1.35", first.K8sMinor)
	require.Equal(t, 600, first.TTLSeconds)
	require.Equal(t, time.Date(2019, 6, 20, 8, 51, 1, 0, time.UTC), *first.ModuleTime)
	require.Nil(t, tbl.Entries[1].ModuleTime)

	path := filepath.Join(t.TempDir(), "sub", "json")
	require.NoError(t, tbl.Write(path))
	back, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, tbl, back)

	require.NoError(t, Table{SchemaVersion: 99}.Write(path))
	_, err = Load(path)
	require.ErrorContains(t, err, "schema version 99")
}
