package scan

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
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
	tbl, err := TableFromReports(runs...)
	require.NoError(t, err)
	require.Equal(t, "projected", tbl.TokenMode)
	require.Equal(t, 600, tbl.TTLSeconds)
	e := tbl.Entries[0]
	require.Equal(t, map[verdict.Verdict]int{verdict.Reloads: 3, verdict.Intermittent: 1}, e.Counts)
	require.Equal(t, 1, e.NotJudged, "NOT_JUDGED is counted apart")
	require.Equal(t, 5, e.Runs)
	require.Equal(t, []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, e.Observed)
	require.Equal(t, verdict.Intermittent, e.Verdict)
	require.Contains(t, Predict(tbl, "v9.0.0").Reason, "RELOADS ×3, INTERMITTENT ×1, NOT_JUDGED ×1")

	// Only NOT_JUDGED runs: no measurement, so no verdict to predict from.
	only, err := TableFromReports(matrixRun(at, "projected", 600, verdict.NotJudged))
	require.NoError(t, err)
	require.Empty(t, only.Entries[0].Observed)
	require.Equal(t, verdict.NotJudged, only.Entries[0].Verdict)
	require.Equal(t, verdict.NotJudged, Predict(only, "v9.0.0").Verdict)
	require.Equal(t, verdict.NotJudged, Predict(only, "v10.0.0").Verdict, "never a neighbour either")
}

// TestTableAddsToLegacyEntries: runs merged before counts were kept stay uncounted.
func TestTableAddsToLegacyEntries(t *testing.T) {
	tbl := Table{SchemaVersion: TableSchemaVersion, TokenMode: "projected", TTLSeconds: 600, Entries: []Entry{{
		Label: "v9.0.0", Module: "v9.0.0+incompatible", K8sMinor: "v1.34", Verdict: verdict.Intermittent,
		Observed: []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, Counts: map[verdict.Verdict]int{}, LegacyRuns: 6, Runs: 6,
	}}}
	require.NoError(t, tbl.Add(matrixRun(time.Now(), "projected", 600, verdict.Reloads)))
	e := tbl.Entries[0]
	require.Equal(t, 7, e.Runs)
	require.Equal(t, map[verdict.Verdict]int{verdict.Reloads: 1}, e.Counts)
	require.Contains(t, Predict(tbl, "v9.0.0").Reason, "7 run(s): RELOADS ×1, 6 uncounted (merged before table schema 2)")
}

func TestTableRefuses(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	failed := matrixRun(at, "projected", 600, verdict.Reloads)
	failed.Error = "cluster up: kind: timed out"
	_, err := TableFromReports(failed)
	require.ErrorContains(t, err, `run report finished 2026-11-26T21:00:00Z ended early (cluster up: kind: timed out)`)

	_, err = TableFromReports(matrixRun(at, "projected", 600, verdict.Reloads), matrixRun(at, "automount", 3607, verdict.Reloads))
	require.ErrorContains(t, err, "measured automount tokens of 3607 s, the table projected tokens of 600 s")

	tbl, err := TableFromReports(matrixRun(at, "projected", 600, verdict.Reloads))
	require.NoError(t, err)
	err = tbl.Add(matrixRun(at, "projected", 300, verdict.Intermittent))
	require.ErrorContains(t, err, "tokens of 300 s")
	require.Equal(t, 1, tbl.Entries[0].Runs, "nothing of a refused batch is merged")
}

// TestReadmeTableIsGenerated: the README's measured table is the checked-in table's
// rendering, never typed by hand (make verdict-table regenerates both).
func TestReadmeTableIsGenerated(t *testing.T) {
	tbl, err := LoadTable(filepath.Join("..", "..", "fixtures", "verdict-table.json"))
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	want, err := tbl.ReplaceInReadme(string(doc))
	require.NoError(t, err)
	require.Equal(t, want, string(doc), "README's verdict table differs from fixtures/verdict-table.json: run make verdict-table (or satoken scan table --merge fixtures/verdict-table.json --from REPORT --write fixtures/verdict-table.json --readme README.md)")
}
