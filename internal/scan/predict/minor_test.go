package predict

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// twoMinors: v0.20.0 reloads on v1.34 and fails on v1.37; v0.30.0 was only measured on
// v1.34; client-node only on v1.34 (arbitrary test data).
func twoMinors() Table {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := func(mod, minor string, v verdict.Verdict) table.Entry {
		return table.Entry{Label: mod, Module: mod, K8sMinor: minor, K8sVersion: minor + ".1", Verdict: v, Observed: []verdict.Verdict{v},
			Counts: map[verdict.Verdict]int{v: 2}, Runs: 2, MeasuredAt: at, TTLSeconds: 600}
	}
	js := jsEntry("1.4.0", verdict.Reloads)
	js.K8sMinor = "v1.34"
	return Table{Table: table.Table{SchemaVersion: table.SchemaVersion, TokenMode: "projected", TTLSeconds: 600, Entries: []table.Entry{
		e("v0.20.0", "v1.34", verdict.Reloads),
		e("v0.30.0", "v1.34", verdict.Reloads),
		e("v0.20.0", "v1.37", verdict.FailsAfterExpiry),
		js,
	}}}
}

func finding(version string) Judged {
	return Judged{Finding: find.Finding{Target: "img", File: "/ctl", ClientGo: &find.Module{Path: find.ClientGoPath, Version: version}, ClientGoBy: find.FromBuildInfo}}
}

// gate decides a finding of client-go version on t, as scan does.
func gate(t Table, version string) (Prediction, Gate) {
	f := finding(version)
	f.Judge(t, Fingerprints{})
	return *f.Prediction, Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: []Judged{f}}}})
}

// TestGateDecidesOnJudgedMinors: by default every minor the table measured has its line,
// and the minors where the version is judged decide; the others are context.
func TestGateDecidesOnJudgedMinors(t *testing.T) {
	tbl := twoMinors()
	p, g := gate(tbl, "v0.20.0")
	require.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
	require.False(t, p.Predicted)
	require.Equal(t, []string{"v1.34", "v1.37"}, p.DecidedOn)
	require.Len(t, p.Minors, 2)
	require.Equal(t, verdict.Reloads, p.Minors[0].Verdict)
	require.Contains(t, p.Minors[0].Reason, "measured v0.20.0 on Kubernetes v1.34.1 (token ttl 600s, 2 run(s): RELOADS ×2, latest 2026-12-01)")
	require.Equal(t, verdict.FailsAfterExpiry, p.Minors[1].Verdict)
	require.Equal(t, []verdict.Verdict{verdict.Reloads, verdict.FailsAfterExpiry}, p.Observed)
	require.Equal(t, report.Broken, g.Outcome)
	require.Equal(t, []string{"img /ctl v0.20.0: FAILS_AFTER_EXPIRY on v1.37"}, g.Broken)

	// v0.30.0 is newer than everything measured on v1.37: not judged there, which is
	// context; v1.34 measured it and decides.
	p, g = gate(tbl, "v0.30.0")
	require.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
	require.Equal(t, []string{"v1.34"}, p.DecidedOn)
	require.False(t, p.Minors[0].Context)
	v137 := p.Minors[1]
	require.True(t, v137.Context)
	require.Equal(t, verdict.NotJudged, v137.Verdict)
	require.Contains(t, v137.Reason, "newer than every version measured on this minor")
	require.Equal(t, "satoken run --k8s v1.37.1 --versions v0.30.0", v137.Measure)
	require.Equal(t, report.Passed, g.Outcome)
	require.Equal(t, []string{LibraryNote}, g.Notes, "a pass says what it means")

	// Judged on no minor: not judged, each minor's command named.
	p, g = gate(tbl, "v0.40.0")
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Empty(t, p.DecidedOn)
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Len(t, g.NotJudged, 1)
	require.Contains(t, g.NotJudged[0], "img /ctl v0.40.0: client-go found, not judged on any Kubernetes minor (on v1.34: unmeasured, newer")
	require.Contains(t, g.NotJudged[0], "measure it: satoken run --k8s v1.34.1 --versions v0.40.0; on v1.37:")
	require.Contains(t, g.NotJudged[0], "measure it: satoken run --k8s v1.37.1 --versions v0.40.0")

	// A minor whose runs drew no verdict judges nothing: context, not a pass or a failure.
	tbl.Entries[2].Verdict, tbl.Entries[2].Observed, tbl.Entries[2].Counts, tbl.Entries[2].NotJudged = verdict.NotJudged, nil, map[verdict.Verdict]int{}, 2
	p, g = gate(tbl, "v0.20.0")
	require.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
	require.Equal(t, "satoken run --k8s v1.37.1 --versions v0.20.0", p.Minors[1].Measure, "measured again")
	require.Equal(t, report.Passed, g.Outcome)
}

// TestGateDecidesOnNamedMinors: --k8s names the deciding minors (several may be named); a
// named minor where the version is not judged makes the outcome not judged, with the
// command; a failure on a minor not named is context only.
func TestGateDecidesOnNamedMinors(t *testing.T) {
	tbl := twoMinors()
	both, err := tbl.DecideOn("v1.34", "v1.37")
	require.NoError(t, err)
	p, g := gate(both, "v0.30.0")
	require.Equal(t, verdict.NotJudged, p.Verdict, p.Reason)
	require.Equal(t, []string{"v1.34", "v1.37"}, p.DecidedOn)
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Contains(t, g.NotJudged[0], "img /ctl v0.30.0: client-go found, not judged: on v1.37: unmeasured, newer than every version measured on this minor")
	require.Contains(t, g.NotJudged[0], "measure it: satoken run --k8s v1.37.1 --versions v0.30.0")

	patch, err := tbl.DecideOn("v1.37.5")
	require.NoError(t, err)
	p, _ = gate(patch, "v0.30.0")
	require.True(t, p.Minors[0].Context, "v1.34 is context")
	require.Equal(t, "satoken run --k8s v1.37.5 --versions v0.30.0", p.Minors[1].Measure, "the version named is the one to measure on")

	only134, err := tbl.DecideOn("v1.34")
	require.NoError(t, err)
	p, g = gate(only134, "v0.20.0")
	require.Equal(t, verdict.Reloads, p.Verdict)
	require.True(t, p.Minors[1].Context)
	require.Equal(t, verdict.FailsAfterExpiry, p.Minors[1].Verdict, "shown, not deciding")
	require.Equal(t, report.Passed, g.Outcome)

	// A minor the table measured nothing on: not judged, with a command whose patch only
	// the user can choose.
	v136, err := tbl.DecideOn("v1.36")
	require.NoError(t, err)
	p, g = gate(v136, "v0.20.0")
	require.Len(t, p.Minors, 3)
	require.Equal(t, "v1.36", p.Minors[1].K8sMinor)
	require.Equal(t, "not measured on v1.36: the table measured k8s.io/client-go on v1.34, v1.37", p.Minors[1].Reason)
	require.Equal(t, "satoken run --k8s v1.36.<patch> --versions v0.20.0", p.Minors[1].Measure)
	require.Equal(t, report.NotJudged, g.Outcome)

	for _, bad := range [][]string{{"v1"}, {"v1.34", "v1.34.4"}} {
		_, err := tbl.DecideOn(bad...)
		require.Error(t, err, bad)
	}
}

// TestPredictOnOneMinor: OnMinor judges on that minor alone, one line; a minor the table
// measured nothing on gives NOT_JUDGED, never a pass.
func TestPredictOnOneMinor(t *testing.T) {
	tbl := twoMinors()
	p := Predict(tbl.OnMinor("v1.34"), "v0.20.0")
	require.Equal(t, verdict.Reloads, p.Verdict, "the failure on v1.37 is not looked at")
	require.Equal(t, "v1.34", p.K8sMinor)
	require.Empty(t, p.Minors)

	for _, v := range []string{"v0.20.0", "v0.25.0", "v0.0.0-20210101000000-abcdefabcdef"} {
		p = Predict(tbl.OnMinor("v1.36"), v)
		require.Equal(t, verdict.NotJudged, p.Verdict, v)
		require.Equal(t, "not measured on v1.36: the table measured k8s.io/client-go on v1.34, v1.37", p.Reason, v)
	}
	f := finding("v0.20.0")
	f.Funcs = []string{rest + "OnlyInV8"} // a known version is never judged by its names
	f.Judge(tbl.OnMinor("v1.36"), testFingerprints())
	require.Equal(t, "not measured on v1.36: the table measured k8s.io/client-go on v1.34, v1.37", f.Prediction.Reason)
	require.False(t, f.Prediction.FromSymbols)

	// client-node was measured on v1.34 only: v1.37's client-go entries do not count.
	require.Equal(t, verdict.Reloads, PredictClientNode(tbl.OnMinor("v1.34"), "1.4.0").Verdict)
	p = PredictClientNode(tbl.OnMinor("v1.37"), "1.4.0")
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Equal(t, "not measured on v1.37: the table measured @kubernetes/client-node on v1.34", p.Reason)
	require.Equal(t, "satoken run --k8s v1.37.1 --versions js-1.4.0", p.Measure)
}

// TestPredictFromSymbolsByMinor: candidates are judged on each minor apart, too.
func TestPredictFromSymbolsByMinor(t *testing.T) {
	tbl := testTable()
	for i := range tbl.Entries {
		tbl.Entries[i].K8sMinor = "v1.34"
	}
	v0372 := tbl.Entries[3]
	v0372.K8sMinor, v0372.Verdict, v0372.Observed = "v1.37", verdict.Intermittent, []verdict.Verdict{verdict.Intermittent}
	tbl.Entries = append(tbl.Entries, v0372)
	funcs := []string{transport + "NewTokenFileRefresher", rest + "Request.Do"} // only v0.37.2 declares them

	p := PredictFromSymbols(tbl, testFingerprints(), funcs)
	require.Equal(t, verdict.Intermittent, p.Verdict, p.Reason)
	require.True(t, p.FromSymbols)
	require.Equal(t, []string{"v0.37.2"}, p.Candidates)
	require.Len(t, p.Minors, 2)
	require.Equal(t, verdict.Reloads, p.Minors[0].Verdict)
	require.Equal(t, verdict.Intermittent, p.Minors[1].Verdict)

	p = PredictFromSymbols(tbl.OnMinor("v1.34"), testFingerprints(), funcs)
	require.Equal(t, verdict.Reloads, p.Verdict, p.Reason)

	// A local replace falls back to the names; each minor's line says why.
	local := Judged{Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath, Replace: &find.Module{Path: "../client-go"}}, ClientGoBy: find.FromBuildInfo, Funcs: funcs}}
	local.Judge(tbl, testFingerprints())
	for _, l := range local.Prediction.Lines() {
		require.True(t, strings.HasPrefix(l.Reason, "no client-go version (replaced by a local directory?); from symbols"), l.Reason)
	}
}
