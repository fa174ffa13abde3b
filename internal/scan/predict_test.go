package scan

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func day(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

// fixture verdicts are arbitrary test data, chosen to exercise agreement and disagreement.
func fixtureTable() Table {
	measured := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	e := func(label, mod, k8s string, v verdict.Verdict, at *time.Time) Entry {
		return Entry{Label: label, Module: mod, K8sRelease: k8s, Verdict: v, MeasuredAt: measured,
			K8sVersion: "v1.35.0", TTLSeconds: 600, ModuleTime: at}
	}
	return Table{SchemaVersion: TableSchemaVersion, Entries: []Entry{
		e("v8.0.0", "v8.0.0+incompatible", "1.11", verdict.FailsAfterExpiry, day("2018-06-28")),
		e("v12.0.0", "v0.0.0-20190620085101-78d2af792bab", "1.15", verdict.FailsAfterExpiry, day("2019-06-20")),
		e("v0.15.7", "v0.15.7", "1.15", verdict.FailsAfterExpiry, nil),
		e("v0.20.0", "v0.20.0", "1.20", verdict.Reloads, day("2020-12-08")),
		e("v0.30.0", "v0.30.0", "1.30", verdict.NotJudged, day("2024-04-17")),
		e("v0.37.2", "v0.37.2", "1.37", verdict.Reloads, day("2026-10-28")),
	}}
}

func labels(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Label)
	}
	return out
}

func TestPredictExact(t *testing.T) {
	tbl := fixtureTable()
	for version, label := range map[string]string{
		"v0.15.7":                            "v0.15.7",
		"0.15.7":                             "v0.15.7",
		"v8.0.0+incompatible":                "v8.0.0",
		"v8.0.0":                             "v8.0.0",
		"v12.0.0+incompatible":               "v12.0.0",
		"v0.0.0-20190620085101-78d2af792bab": "v12.0.0",
		"v0.30.0":                            "v0.30.0", // measured, even if NOT_JUDGED
	} {
		p := Predict(tbl, version)
		require.False(t, p.Predicted, version)
		require.False(t, p.Uncertain, version)
		require.Equal(t, []string{label}, labels(p.Neighbours), version)
		require.Equal(t, p.Neighbours[0].Verdict, p.Verdict, version)
		require.Contains(t, p.Reason, "measured", version)
	}
}

func TestPredictNeighbours(t *testing.T) {
	tbl := fixtureTable()
	for _, tc := range []struct {
		version    string
		want       verdict.Verdict
		neighbours []string
		uncertain  bool
	}{
		{"v10.0.0+incompatible", verdict.FailsAfterExpiry, []string{"v8.0.0", "v12.0.0"}, false},
		{"v0.25.3", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}, false}, // NOT_JUDGED v0.30.0 skipped
		{"v0.17.0", verdict.FailsAfterExpiry, []string{"v0.15.7", "v0.20.0"}, true},
		{"v0.20.0-rc.1", verdict.FailsAfterExpiry, []string{"v0.15.7", "v0.20.0"}, true},
		{"v0.15.8-0.20200101000000-abcdefabcdef", verdict.FailsAfterExpiry, []string{"v0.15.7", "v0.20.0"}, true},
		{"v0.20.1-0.20210101000000-abcdefabcdef", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}, false},
		{"v0.0.0-20181001000000-abcdefabcdef", verdict.FailsAfterExpiry, []string{"v8.0.0", "v12.0.0"}, false},
		{"v0.0.0-20200101000000-abcdefabcdef", verdict.FailsAfterExpiry, []string{"v12.0.0", "v0.20.0"}, true},
		{"v0.0.0-20250101000000-abcdefabcdef", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}, false},
		{"v0.40.0", verdict.Reloads, []string{"v0.37.2"}, false},
		{"v5.0.0+incompatible", verdict.FailsAfterExpiry, []string{"v8.0.0"}, false},
		{"v0.0.0-20170101000000-abcdefabcdef", verdict.FailsAfterExpiry, []string{"v8.0.0"}, false},
	} {
		p := Predict(tbl, tc.version)
		require.True(t, p.Predicted, tc.version)
		require.Equal(t, tc.want, p.Verdict, tc.version)
		require.Equal(t, tc.neighbours, labels(p.Neighbours), tc.version)
		require.Equal(t, tc.uncertain, p.Uncertain, "%s: %s", tc.version, p.Reason)
		require.NotEmpty(t, p.Reason, tc.version)
	}
}

func TestPredictByK8sRelease(t *testing.T) {
	tbl := Table{Entries: []Entry{
		{Label: "old", K8sRelease: "1.14", Verdict: verdict.FailsAfterExpiry},
		{Label: "new", K8sRelease: "1.22", Verdict: verdict.Reloads},
	}}
	p := Predict(tbl, "v0.18.3")
	require.Equal(t, verdict.FailsAfterExpiry, p.Verdict)
	require.True(t, p.Uncertain)
	require.Equal(t, []string{"old", "new"}, labels(p.Neighbours))
}

func TestPredictUnplaceable(t *testing.T) {
	tbl := fixtureTable()
	for _, v := range []string{"", "(devel)", "latest", "v1.5.2", "v13.0.0"} {
		p := Predict(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, v)
		require.Empty(t, p.Neighbours, v)
		require.NotEmpty(t, p.Reason, v)
	}
	// A date-only pseudo-version needs entries with a module time.
	for i := range tbl.Entries {
		tbl.Entries[i].ModuleTime = nil
	}
	p := Predict(tbl, "v0.0.0-20200101000000-abcdefabcdef")
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Contains(t, p.Reason, "date axis")
	require.Equal(t, verdict.NotJudged, Predict(Table{}, "v0.20.0").Verdict)
}

// TestPredictTakesTheWorseNeighbour: an unmeasured version between a version that reloads
// and a newer one that fails is predicted to fail, flagged unmeasured and uncertain.
func TestPredictTakesTheWorseNeighbour(t *testing.T) {
	tbl := Table{Entries: []Entry{
		{Label: "v0.20.0", Module: "v0.20.0", Verdict: verdict.Reloads},
		{Label: "v0.30.0", Module: "v0.30.0", Verdict: verdict.Intermittent},
		{Label: "v0.37.2", Module: "v0.37.2", Verdict: verdict.FailsAfterExpiry},
	}}
	for version, want := range map[string]verdict.Verdict{
		"v0.25.0": verdict.Intermittent,
		"v0.31.0": verdict.FailsAfterExpiry,
	} {
		p := Predict(tbl, version)
		require.Equal(t, want, p.Verdict, version)
		require.True(t, p.Predicted, version)
		require.True(t, p.Uncertain, version)
		require.Contains(t, p.Reason, "unmeasured", version)
		require.Contains(t, p.Reason, "taking the worse", version)
	}
	p := Predict(tbl, "v0.40.0")
	require.Equal(t, verdict.FailsAfterExpiry, p.Verdict)
	require.Contains(t, p.Reason, "unmeasured")
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
	tbl, err := TableFromReports(rep)
	require.NoError(t, err)
	require.Equal(t, []string{"v12.0.0", "v0.37.2"}, labels(tbl.Entries))
	first := tbl.Entries[0]
	require.Equal(t, finished, first.MeasuredAt)
	require.Equal(t, "v1.35.0", first.K8sVersion)
	require.Equal(t, "v1.35", first.K8sMinor)
	require.Equal(t, 600, first.TTLSeconds)
	require.Equal(t, time.Date(2019, 6, 20, 8, 51, 1, 0, time.UTC), *first.ModuleTime)
	require.Nil(t, tbl.Entries[1].ModuleTime)

	path := filepath.Join(t.TempDir(), "sub", "table.json")
	require.NoError(t, tbl.Write(path))
	back, err := LoadTable(path)
	require.NoError(t, err)
	require.Equal(t, tbl, back)

	require.NoError(t, Table{SchemaVersion: 99}.Write(path))
	_, err = LoadTable(path)
	require.ErrorContains(t, err, "schema version 99")
}

func TestTableFromReportsMergesRuns(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	run := func(finished time.Time, v9, v11 verdict.Verdict) *report.Report {
		return &report.Report{FinishedAt: finished, TTLSeconds: 600, Results: []report.Result{
			{K8sVersion: "v1.34.4", Verdict: v9, Probe: &report.ProbeResult{ClientGo: "v9.0.0", ClientGoModule: "v9.0.0+incompatible"}},
			{K8sVersion: "v1.34.4", Verdict: v11, Probe: &report.ProbeResult{ClientGo: "v11.0.0", ClientGoModule: "v11.0.0+incompatible"}},
		}}
	}
	tbl, err := TableFromReports(run(at, verdict.Reloads, verdict.NotJudged), run(at.Add(time.Hour), verdict.Intermittent, verdict.FailsAfterExpiry))
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2)
	v9 := tbl.Entries[0]
	require.Equal(t, []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, v9.Observed)
	require.Equal(t, verdict.Intermittent, v9.Verdict, "the worst measured verdict")
	require.Equal(t, 2, v9.Runs)
	require.Equal(t, at.Add(time.Hour), v9.MeasuredAt)
	v11 := tbl.Entries[1]
	require.Equal(t, []verdict.Verdict{verdict.FailsAfterExpiry}, v11.Observed, "NOT_JUDGED only counts where no run drew a verdict")

	p := Predict(tbl, "v9.0.0+incompatible")
	require.False(t, p.Predicted)
	require.Equal(t, v9.Observed, p.Observed)
	require.Contains(t, p.Reason, "2 run(s)")
}
