package table

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func matrixRun(finished time.Time, mode string, ttl int, v9 verdict.Verdict) *report.Report {
	return &report.Report{Command: "run", FinishedAt: finished, TokenMode: mode, TTLSeconds: ttl,
		Results: []report.Result{{K8sVersion: "v1.34.4", Verdict: v9, Probe: &report.ProbeResult{ClientGo: "v9.0.0", ClientGoModule: "v9.0.0+incompatible", K8sRelease: "1.12"}}}}
}

func TestTableCountsVerdicts(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	var runs []*report.Report
	for i, v := range []verdict.Verdict{verdict.Reloads, verdict.Reloads, verdict.NotJudged, verdict.Intermittent, verdict.Reloads} {
		runs = append(runs, matrixRun(at.Add(time.Duration(i)*time.Hour), "projected", 600, v))
	}
	tbl, err := FromReports(runs...)
	require.NoError(t, err)
	require.Equal(t, "projected", tbl.TokenMode)
	require.Equal(t, 600, tbl.TTLSeconds)
	e := tbl.Entries[0]
	require.Equal(t, map[verdict.Verdict]int{verdict.Reloads: 3, verdict.Intermittent: 1}, e.Counts)
	require.Equal(t, 1, e.NotJudged, "NOT_JUDGED is counted apart")
	require.Equal(t, 5, e.Runs)
	require.Equal(t, []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, e.Observed)
	require.Equal(t, verdict.Intermittent, e.Verdict)

	// Only NOT_JUDGED runs: no measurement, so no verdict to predict from.
	only, err := FromReports(matrixRun(at, "projected", 600, verdict.NotJudged))
	require.NoError(t, err)
	require.Empty(t, only.Entries[0].Observed)
	require.Equal(t, verdict.NotJudged, only.Entries[0].Verdict)
}

// TestTableAddsToLegacyEntries: runs merged before counts were kept stay uncounted.
func TestTableAddsToLegacyEntries(t *testing.T) {
	tbl := Table{SchemaVersion: SchemaVersion, TokenMode: "projected", TTLSeconds: 600, Entries: []Entry{{
		Label: "v9.0.0", Module: "v9.0.0+incompatible", K8sMinor: "v1.34", Verdict: verdict.Intermittent,
		Observed: []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, Counts: map[verdict.Verdict]int{}, LegacyRuns: 6, Runs: 6,
	}}}
	require.NoError(t, tbl.Add(matrixRun(time.Now(), "projected", 600, verdict.Reloads)))
	e := tbl.Entries[0]
	require.Equal(t, 7, e.Runs)
	require.Equal(t, map[verdict.Verdict]int{verdict.Reloads: 1}, e.Counts)
}

func TestTableRefuses(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	failed := matrixRun(at, "projected", 600, verdict.Reloads)
	failed.Error = "cluster up: kind: timed out"
	_, err := FromReports(failed)
	require.ErrorContains(t, err, `run report finished 2026-11-26T21:00:00Z ended early (cluster up: kind: timed out)`)

	_, err = FromReports(matrixRun(at, "projected", 600, verdict.Reloads), matrixRun(at, "automount", 3607, verdict.Reloads))
	require.ErrorContains(t, err, "measured automount tokens of 3607 s, the table projected tokens of 600 s")

	tbl, err := FromReports(matrixRun(at, "projected", 600, verdict.Reloads))
	require.NoError(t, err)
	err = tbl.Add(matrixRun(at, "projected", 300, verdict.Intermittent))
	require.ErrorContains(t, err, "tokens of 300 s")
	require.Equal(t, 1, tbl.Entries[0].Runs, "nothing of a refused batch is merged")
}

// TestReadmeTableIsGenerated: the README's measured table is the checked-in table's
// rendering, never typed by hand (make verdict-table regenerates both).
func TestReadmeTableIsGenerated(t *testing.T) {
	tbl, err := Load(filepath.Join("..", "..", "..", "fixtures", "verdict-table.json"))
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	require.NoError(t, err)
	want, err := tbl.ReplaceInReadme(string(doc))
	require.NoError(t, err)
	require.Equal(t, want, string(doc), "README's verdict table differs from fixtures/verdict-table.json: run make verdict-table (or satoken scan table --merge fixtures/verdict-table.json --from REPORT --write fixtures/verdict-table.json --readme README.md)")
}

// Reports of JavaScript probes make client-node entries: their own Markdown table, no
// module time looked up.
func TestTableWithClientNode(t *testing.T) {
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	rep := &report.Report{Command: "run", FinishedAt: at, TokenMode: "projected", TTLSeconds: 600,
		Results: []report.Result{
			{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2", ClientGoModule: "v0.37.2", K8sRelease: "1.37"}},
			{K8sVersion: "v1.34.4", Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "js-0.10.2", ClientGoModule: find.ClientNodeModule("0.10.2")}},
		}}
	tbl, err := FromReports(rep)
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2)
	require.True(t, tbl.Entries[1].IsClientNode())
	require.False(t, tbl.Entries[0].IsClientNode())

	md := tbl.Markdown()
	goTable, jsTable, ok := strings.Cut(md, "\n| @kubernetes/client-node | probe | verdict on v1.34 |")
	require.True(t, ok, md)
	require.Contains(t, goTable, "| v0.37.2 | `v0.37.2` | 1.37 | **RELOADS** (1/1) |")
	require.NotContains(t, goTable, "js-0.10.2")
	require.Contains(t, jsTable, "| 0.10.2 | js-0.10.2 | **FAILS_AFTER_EXPIRY** (1/1) |")

	js := Table{Entries: []Entry{tbl.Entries[1]}}
	require.NoError(t, js.ResolveModuleTimes(context.Background()), "client-node entries need no module time")
	require.Nil(t, js.Entries[0].ModuleTime)
	require.NotContains(t, Table{Entries: tbl.Entries[:1]}.Markdown(), find.ClientNodePackage, "a client-go-only table is unchanged")
}

// Probes built on demand (satoken run --versions <unpinned>) are reported like pinned ones
// and merge into the table like them, a date-only pseudo-version without a k8sRelease.
func TestTableMergesUnpinnedProbes(t *testing.T) {
	pseudo := "v0.0.0-20190918160344-1fbdaa4c8d90"
	tbl, err := FromReports(runOf(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: pseudo, ClientGoModule: pseudo, Library: find.ClientGoPath}},
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.16.15", ClientGoModule: "v0.16.15", K8sRelease: "1.16", Library: find.ClientGoPath}},
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "js-0.10.1", ClientGoModule: find.ClientNodeModule("0.10.1"), Library: find.ClientNodePackage}},
	))
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 3)
	require.Equal(t, []string{pseudo, "v0.16.15", "js-0.10.1"}, []string{tbl.Entries[0].Label, tbl.Entries[1].Label, tbl.Entries[2].Label})
	require.Equal(t, time.Date(2019, 9, 18, 16, 3, 44, 0, time.UTC), *tbl.Entries[0].ModuleTime)
	require.Equal(t, "", tbl.Entries[0].K8sRelease)
	require.Equal(t, "1.16", tbl.Entries[1].K8sRelease)
	require.True(t, tbl.Entries[2].IsClientNode())
	require.Equal(t, verdict.FailsAfterExpiry, tbl.Entries[2].Verdict)
}
