package predict

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"

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
	e := func(label, mod, k8s string, v verdict.Verdict, at *time.Time) table.Entry {
		return table.Entry{Label: label, Module: mod, K8sRelease: k8s, Verdict: v, MeasuredAt: measured,
			K8sVersion: "v1.35.0", TTLSeconds: 600, ModuleTime: at}
	}
	return Table{Table: table.Table{SchemaVersion: table.SchemaVersion, Entries: []table.Entry{
		e("v8.0.0", "v8.0.0+incompatible", "1.11", verdict.FailsAfterExpiry, day("2018-06-28")),
		e("v12.0.0", "v0.0.0-20190620085101-78d2af792bab", "1.15", verdict.FailsAfterExpiry, day("2019-06-20")),
		e("v0.15.7", "v0.15.7", "1.15", verdict.FailsAfterExpiry, nil),
		e("v0.20.0", "v0.20.0", "1.20", verdict.Reloads, day("2020-12-08")),
		e("v0.30.0", "v0.30.0", "1.30", verdict.NotJudged, day("2024-04-17")),
		e("v0.37.2", "v0.37.2", "1.37", verdict.Reloads, day("2026-10-28")),
	}}}
}

func labels(es []table.Entry) []string {
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
		require.Equal(t, []string{label}, labels(p.Neighbours), version)
		require.Equal(t, p.Neighbours[0].Verdict, p.Verdict, version)
		require.Contains(t, p.Reason, "measured", version)
	}
	// A measurement that drew no verdict is measured again.
	require.Equal(t, "satoken run --k8s v1.35.0 --versions v0.30.0", Predict(tbl, "v0.30.0").Measure)
	require.Empty(t, Predict(tbl, "v0.15.7").Measure)
}

// TestPredictAgreeingNeighbours: an unmeasured version strictly between two measured
// versions with the same verdict is predicted to do the same, on either axis.
func TestPredictAgreeingNeighbours(t *testing.T) {
	tbl := fixtureTable()
	for _, tc := range []struct {
		version    string
		want       verdict.Verdict
		neighbours []string
	}{
		{"v10.0.0+incompatible", verdict.FailsAfterExpiry, []string{"v8.0.0", "v12.0.0"}},
		{"v0.25.3", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}}, // NOT_JUDGED v0.30.0 skipped
		{"v0.20.1-0.20210101000000-abcdefabcdef", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}},
		{"v0.0.0-20181001000000-abcdefabcdef", verdict.FailsAfterExpiry, []string{"v8.0.0", "v12.0.0"}},
		{"v0.0.0-20250101000000-abcdefabcdef", verdict.Reloads, []string{"v0.20.0", "v0.37.2"}},
	} {
		p := Predict(tbl, tc.version)
		require.True(t, p.Predicted, tc.version)
		require.Equal(t, tc.want, p.Verdict, "%s: %s", tc.version, p.Reason)
		require.Equal(t, tc.neighbours, labels(p.Neighbours), tc.version)
		require.Contains(t, p.Reason, "predicted, unmeasured, between", tc.version)
		require.Contains(t, p.Reason, "both "+string(tc.want), tc.version)
		require.Empty(t, p.Measure, tc.version)
	}
}

// TestPredictDisagreeingNeighboursNotJudged: between a version that fails and one that
// reloads nothing is known — not the worse of the two, which would cry wolf on a version
// that reloads: not judged, naming both and the command that measures it.
func TestPredictDisagreeingNeighboursNotJudged(t *testing.T) {
	tbl := fixtureTable()
	for version, neighbours := range map[string][]string{
		"v0.17.0":                               {"v0.15.7", "v0.20.0"},
		"v0.20.0-rc.1":                          {"v0.15.7", "v0.20.0"},
		"v0.15.8-0.20200101000000-abcdefabcdef": {"v0.15.7", "v0.20.0"},
		"v0.0.0-20200101000000-abcdefabcdef":    {"v12.0.0", "v0.20.0"},
	} {
		p := Predict(tbl, version)
		require.Equal(t, verdict.NotJudged, p.Verdict, "%s: %s", version, p.Reason)
		require.True(t, p.Predicted, version)
		require.Equal(t, neighbours, labels(p.Neighbours), version)
		require.Contains(t, p.Reason, "the neighbours disagree", version)
		require.Equal(t, "satoken run --k8s v1.35.0 --versions "+find.NormalizeVersion(version), p.Measure, version)
	}
	// Three measured versions, reloading then intermittent then failing: between any two
	// that disagree nothing is predicted.
	tbl = Table{Table: table.Table{Entries: []table.Entry{
		{Label: "v0.20.0", Module: "v0.20.0", Verdict: verdict.Reloads},
		{Label: "v0.30.0", Module: "v0.30.0", Verdict: verdict.Intermittent},
		{Label: "v0.37.2", Module: "v0.37.2", Verdict: verdict.FailsAfterExpiry},
	}}}
	for _, v := range []string{"v0.25.0", "v0.31.0"} {
		require.Equal(t, verdict.NotJudged, Predict(tbl, v).Verdict, v)
	}
}

// TestPredictNewerThanMeasuredNotJudged: a version newer than every one measured could
// have changed anything: not judged, whatever the newest did.
func TestPredictNewerThanMeasuredNotJudged(t *testing.T) {
	tbl := fixtureTable()
	for _, v := range []string{"v0.40.0", "v0.37.3", "v0.37.3-0.20270101000000-abcdefabcdef", "v0.0.0-20270101000000-abcdefabcdef"} {
		p := Predict(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, "%s: %s", v, p.Reason)
		require.Contains(t, p.Reason, "newer than every version measured on this minor", v)
		require.Contains(t, p.Reason, "the newest is v0.37.2, RELOADS", v)
		require.Equal(t, []string{"v0.37.2"}, labels(p.Neighbours), v)
		require.Equal(t, "satoken run --k8s v1.35.0 --versions "+v, p.Measure, v)
	}
}

// TestPredictOlderThanMeasuredNotJudged: the same below the oldest measured version.
func TestPredictOlderThanMeasuredNotJudged(t *testing.T) {
	tbl := fixtureTable()
	for _, v := range []string{"v5.0.0+incompatible", "v0.0.0-20170101000000-abcdefabcdef"} {
		p := Predict(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, "%s: %s", v, p.Reason)
		require.Contains(t, p.Reason, "older than every version measured on this minor", v)
		require.Equal(t, []string{"v8.0.0"}, labels(p.Neighbours), v)
		require.NotEmpty(t, p.Measure, v)
	}
	require.Equal(t, "satoken run --k8s v1.35.0 --versions v5.0.0", Predict(tbl, "v5.0.0+incompatible").Measure, "labelled as the matrix labels tags")
}

// TestPredictDatePseudoVersion: a date-only pseudo-version is placed by date among the
// entries that have a module time, and predicted only between two that agree.
func TestPredictDatePseudoVersion(t *testing.T) {
	tbl := fixtureTable()
	p := Predict(tbl, "v0.0.0-20190101000000-abcdefabcdef")
	require.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
	require.Equal(t, []string{"v8.0.0", "v12.0.0"}, labels(p.Neighbours))
	require.Contains(t, p.Reason, "date axis (2019-01-01)")

	// v0.15.7 has no module time: it is no neighbour on the date axis, even where its
	// release would place it.
	p = Predict(tbl, "v0.0.0-20191201000000-abcdefabcdef")
	require.Equal(t, []string{"v12.0.0", "v0.20.0"}, labels(p.Neighbours))
	require.Equal(t, verdict.NotJudged, p.Verdict)

	// Without module times, no neighbour exists at all.
	for i := range tbl.Entries {
		tbl.Entries[i].ModuleTime = nil
	}
	p = Predict(tbl, "v0.0.0-20200101000000-abcdefabcdef")
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Contains(t, p.Reason, "can be placed on the date axis")
	require.Equal(t, "satoken run --k8s v1.35.0 --versions v0.0.0-20200101000000-abcdefabcdef", p.Measure)
}

// TestPredictTableWithGaps: a sparse table predicts inside its measured range only where
// neighbours agree; the gap between a failing and a reloading measurement stays open,
// however wide.
func TestPredictTableWithGaps(t *testing.T) {
	tbl := Table{Table: table.Table{Entries: []table.Entry{
		{Label: "v8.0.0", Module: "v8.0.0+incompatible", Verdict: verdict.FailsAfterExpiry, K8sMinor: "v1.37", K8sVersion: "v1.37.2"},
		{Label: "v11.0.0", Module: "v11.0.0+incompatible", Verdict: verdict.FailsAfterExpiry, K8sMinor: "v1.37", K8sVersion: "v1.37.2"},
		{Label: "v0.37.2", Module: "v0.37.2", Verdict: verdict.Reloads, K8sMinor: "v1.37", K8sVersion: "v1.37.2"},
	}}}
	require.Equal(t, verdict.FailsAfterExpiry, Predict(tbl, "v9.0.0+incompatible").Verdict)
	for _, v := range []string{"v12.0.0+incompatible", "v0.15.7", "v0.36.0"} {
		p := Predict(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, v)
		require.Equal(t, []string{"v11.0.0", "v0.37.2"}, labels(p.Neighbours), v)
		require.Equal(t, "satoken run --k8s v1.37.2 --versions "+find.NormalizeVersion(v), p.Measure, v)
	}
}

func TestPredictByK8sRelease(t *testing.T) {
	tbl := Table{Table: table.Table{Entries: []table.Entry{
		{Label: "old", K8sRelease: "1.14", Verdict: verdict.FailsAfterExpiry},
		{Label: "mid", K8sRelease: "1.16", Verdict: verdict.Reloads},
		{Label: "new", K8sRelease: "1.22", Verdict: verdict.Reloads},
	}}}
	p := Predict(tbl, "v0.18.3")
	require.Equal(t, verdict.Reloads, p.Verdict)
	require.Equal(t, []string{"mid", "new"}, labels(p.Neighbours))
	p = Predict(tbl, "v0.15.0")
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Equal(t, []string{"old", "mid"}, labels(p.Neighbours))
}

func TestPredictUnplaceable(t *testing.T) {
	tbl := fixtureTable()
	for _, v := range []string{"", "(devel)", "latest", "v1.5.2", "v13.0.0"} {
		p := Predict(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, v)
		require.Empty(t, p.Neighbours, v)
		require.NotEmpty(t, p.Reason, v)
		require.Empty(t, p.Measure, "%s: no probe can be built of it", v)
	}
	require.Equal(t, verdict.NotJudged, Predict(Table{}, "v0.20.0").Verdict)
}

func TestTableFromReportsMergesRuns(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	run := func(finished time.Time, v9, v11 verdict.Verdict) *report.Report {
		return &report.Report{FinishedAt: finished, TTLSeconds: 600, Results: []report.Result{
			{K8sVersion: "v1.34.4", Verdict: v9, Probe: &report.ProbeResult{ClientGo: "v9.0.0", ClientGoModule: "v9.0.0+incompatible"}},
			{K8sVersion: "v1.34.4", Verdict: v11, Probe: &report.ProbeResult{ClientGo: "v11.0.0", ClientGoModule: "v11.0.0+incompatible"}},
		}}
	}
	tbl, err := table.FromReports(run(at, verdict.Reloads, verdict.NotJudged), run(at.Add(time.Hour), verdict.Intermittent, verdict.FailsAfterExpiry))
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2)
	v9 := tbl.Entries[0]
	require.Equal(t, []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, v9.Observed)
	require.Equal(t, verdict.Intermittent, v9.Verdict, "the worst measured verdict")
	require.Equal(t, 2, v9.Runs)
	require.Equal(t, at.Add(time.Hour), v9.MeasuredAt)
	v11 := tbl.Entries[1]
	require.Equal(t, []verdict.Verdict{verdict.FailsAfterExpiry}, v11.Observed, "NOT_JUDGED only counts where no run drew a verdict")

	p := Predict(Table{Table: tbl}, "v9.0.0+incompatible")
	require.False(t, p.Predicted)
	require.Equal(t, v9.Observed, p.Observed)
	require.Contains(t, p.Reason, "2 run(s)")
}

// TestPredictMeasuredReasonCounts: a measured version's reason counts its runs' verdicts,
// the runs that drew none and those merged before counts were kept; an entry of NOT_JUDGED
// runs alone decides nothing, and is no neighbour either.
func TestPredictMeasuredReasonCounts(t *testing.T) {
	on := func(e table.Entry) Table { return Table{Table: table.Table{Entries: []table.Entry{e}}} }
	e := table.Entry{Label: "v9.0.0", Module: "v9.0.0+incompatible", K8sMinor: "v1.34", K8sVersion: "v1.34.4", Verdict: verdict.Intermittent,
		Observed: []verdict.Verdict{verdict.Reloads, verdict.Intermittent}, Counts: map[verdict.Verdict]int{verdict.Reloads: 3, verdict.Intermittent: 1}, NotJudged: 1, Runs: 5}
	require.Contains(t, Predict(on(e), "v9.0.0").Reason, "5 run(s): RELOADS ×3, INTERMITTENT ×1, NOT_JUDGED ×1")

	legacy := e
	legacy.Counts, legacy.NotJudged, legacy.LegacyRuns, legacy.Runs = map[verdict.Verdict]int{verdict.Reloads: 1}, 0, 6, 7
	require.Contains(t, Predict(on(legacy), "v9.0.0").Reason, "7 run(s): RELOADS ×1, 6 uncounted (merged before table schema 2)")

	only := table.Entry{Label: "v9.0.0", Module: "v9.0.0+incompatible", K8sMinor: "v1.34", K8sVersion: "v1.34.4", Verdict: verdict.NotJudged,
		Counts: map[verdict.Verdict]int{}, NotJudged: 1, Runs: 1}
	require.Equal(t, verdict.NotJudged, Predict(on(only), "v9.0.0").Verdict)
	require.Equal(t, verdict.NotJudged, Predict(on(only), "v10.0.0").Verdict, "never a neighbour either")
}

// TestPredictBracketChangesInside: v8.0.0 and v11.0.0 both fail on every minor, but the
// versions between them re-read on a timer (measured INTERMITTENT on v1.34). On a minor
// where only the ends were measured, agreement at the ends would predict FAILS for
// v10.0.0 — a verdict its own measurement elsewhere contradicts: not judged, naming the
// measurement inside and the command. A bracket measured uniform everywhere still predicts.
func TestPredictBracketChangesInside(t *testing.T) {
	e := func(label, mod, rel, k8s string, v verdict.Verdict) table.Entry {
		return table.Entry{Label: label, Module: mod, K8sRelease: rel, Verdict: v, K8sVersion: k8s, K8sMinor: k8s[:5], TTLSeconds: 600}
	}
	tbl := Table{Table: table.Table{SchemaVersion: table.SchemaVersion, Entries: []table.Entry{
		e("v8.0.0", "v8.0.0+incompatible", "1.11", "v1.34.4", verdict.FailsAfterExpiry),
		e("v10.0.0", "v10.0.0+incompatible", "1.13", "v1.34.4", verdict.Intermittent),
		e("v11.0.0", "v11.0.0+incompatible", "1.14", "v1.34.4", verdict.FailsAfterExpiry),
		e("v0.20.0", "v0.20.0", "1.20", "v1.34.4", verdict.Reloads),
		e("v0.37.2", "v0.37.2", "1.37", "v1.34.4", verdict.Reloads),
		e("v8.0.0", "v8.0.0+incompatible", "1.11", "v1.37.2", verdict.FailsAfterExpiry),
		e("v11.0.0", "v11.0.0+incompatible", "1.14", "v1.37.2", verdict.FailsAfterExpiry),
		e("v0.20.0", "v0.20.0", "1.20", "v1.37.2", verdict.Reloads),
		e("v0.37.2", "v0.37.2", "1.37", "v1.37.2", verdict.Reloads),
	}}}
	for _, version := range []string{"v10.0.0+incompatible", "v9.0.0+incompatible"} {
		p := Predict(tbl.OnMinor("v1.37"), version)
		require.Equal(t, verdict.NotJudged, p.Verdict, "%s: %s", version, p.Reason)
		require.Contains(t, p.Reason, "but v10.0.0 (v10.0.0+incompatible), between them, measured INTERMITTENT on Kubernetes v1.34.4", version)
		require.Equal(t, "satoken run --k8s v1.37.2 --versions "+find.NormalizeVersion(version), p.Measure, version)
	}
	// On the minor that measured it, v10.0.0 is its measurement.
	require.Equal(t, verdict.Intermittent, Predict(tbl.OnMinor("v1.34"), "v10.0.0+incompatible").Verdict)
	// Between two that reload everywhere, nothing measured inside disagrees: predicted.
	p := Predict(tbl.OnMinor("v1.37"), "v0.25.3")
	require.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
	require.True(t, p.Predicted)
}
