package predict

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func jsEntry(version string, v verdict.Verdict) table.Entry {
	return table.Entry{Label: "js-" + version, Module: find.ClientNodeModule(version), Verdict: v, Observed: []verdict.Verdict{v},
		Counts: map[verdict.Verdict]int{v: 1}, Runs: 1, K8sVersion: "v1.34.4", TTLSeconds: 600}
}

func TestPredictClientNode(t *testing.T) {
	tbl := Table{Table: table.Table{SchemaVersion: table.SchemaVersion, TokenMode: "projected", TTLSeconds: 600, Entries: []table.Entry{
		{Label: "v0.17.0", Module: "v0.17.0", K8sRelease: "1.17", Verdict: verdict.Reloads, Observed: []verdict.Verdict{verdict.Reloads}},
		{Label: "v0.21.1", Module: "v0.21.1", K8sRelease: "1.21", Verdict: verdict.Reloads, Observed: []verdict.Verdict{verdict.Reloads}},
		jsEntry("0.10.2", verdict.FailsAfterExpiry),
		jsEntry("0.10.3", verdict.Reloads),
		jsEntry("0.18.1", verdict.FailsAfterExpiry), // made up: must not leak into client-go v0.18.1
		jsEntry("0.20.0", verdict.FailsAfterExpiry), // made up
		jsEntry("1.4.0", verdict.Reloads),
		jsEntry("0.22.3", verdict.NotJudged),
	}}}
	for _, c := range []struct {
		version   string
		want      verdict.Verdict
		predicted bool
		reason    string
	}{
		{"0.10.2", verdict.FailsAfterExpiry, false, "measured js-0.10.2"},
		{"1.4.0", verdict.Reloads, false, "measured"},
		{"0.19.0", verdict.FailsAfterExpiry, true, "predicted, unmeasured, between js-0.18.1 (@kubernetes/client-node@0.18.1) and js-0.20.0 (@kubernetes/client-node@0.20.0) on the npm version order of 0.x, both FAILS_AFTER_EXPIRY"},
		{"0.9.2", verdict.NotJudged, true, "older than every version measured on this minor"},
		{"0.12.0", verdict.NotJudged, true, "between js-0.10.3 (@kubernetes/client-node@0.10.3) (RELOADS) and js-0.18.1 (@kubernetes/client-node@0.18.1) (FAILS_AFTER_EXPIRY) on the npm version order of 0.x: the neighbours disagree"},
		{"0.21.0", verdict.NotJudged, true, "newer than every version measured on this minor on the npm version order of 0.x (the newest is js-0.20.0"},
		{"1.0.0", verdict.NotJudged, true, "older than every version measured on this minor on the npm version order of 1.x"},
		{"0.22.3", verdict.NotJudged, false, "measured"},
		{"latest", verdict.NotJudged, false, "not a version"},
	} {
		p := PredictClientNode(tbl, c.version)
		require.Equal(t, c.want, p.Verdict, "%s: %s", c.version, p.Reason)
		require.Equal(t, c.predicted, p.Predicted, c.version)
		require.Contains(t, p.Reason, c.reason, c.version)
		if c.want == verdict.NotJudged && c.version != "latest" {
			require.Equal(t, "satoken run --k8s v1.34.4 --versions js-"+c.version, p.Measure, c.version)
		}
	}

	// client-go's lookup never sees the client-node entries.
	p := Predict(tbl, "v0.18.1")
	require.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
	require.Contains(t, p.Reason, "between v0.17.0 and v0.21.1")

	// Judge routes a client-node finding to its own lookup.
	f := Judged{Finding: find.Finding{Target: "img", ClientGo: &find.Module{Path: find.ClientNodePackage, Version: "0.10.2"}, ClientGoBy: find.FromPackageJSON}}
	f.Judge(tbl, Fingerprints{})
	require.Equal(t, verdict.FailsAfterExpiry, f.Prediction.Verdict)
	g := Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: []Judged{f}}}})
	require.Equal(t, report.Broken, g.Outcome)
	require.Equal(t, []string{"img 0.10.2: FAILS_AFTER_EXPIRY"}, g.Broken)
}

// TestPredictClientNode2xNotFrom1x: each client-node major rewrote its HTTP layer, so 2.x
// is never predicted from 1.x (or 0.x) measurements, even when they agree around it.
func TestPredictClientNode2xNotFrom1x(t *testing.T) {
	tbl := Table{Table: table.Table{Entries: []table.Entry{jsEntry("0.10.3", verdict.Reloads), jsEntry("1.4.0", verdict.Reloads), jsEntry("3.0.0", verdict.Reloads)}}}
	for _, v := range []string{"2.0.1", "2.0.0"} {
		p := PredictClientNode(tbl, v)
		require.Equal(t, verdict.NotJudged, p.Verdict, "%s: %s", v, p.Reason)
		require.Equal(t, "unmeasured, and no @kubernetes/client-node 2.x was measured on this minor; measurements of other major versions do not count: "+
			"each major rewrote the HTTP layer that sends the token (0.x uses request, 1.x node-fetch, 2.x undici)", p.Reason)
		require.Equal(t, "satoken run --k8s v1.34.4 --versions js-"+v, p.Measure)
	}
	// 0.22.3 lies between two reloading measurements, 0.10.3 and 1.4.0, of different majors.
	p := PredictClientNode(tbl, "0.22.3")
	require.Equal(t, verdict.NotJudged, p.Verdict, p.Reason)
	require.Contains(t, p.Reason, "newer than every version measured on this minor on the npm version order of 0.x")
	require.Contains(t, p.Reason, "measurements of other major versions do not count")
}
