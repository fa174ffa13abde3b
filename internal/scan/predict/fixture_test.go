package predict

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// checkedInTable is fixtures/verdict-table.json: v1.34 measured densely; v1.32, v1.33 and
// v1.37 only v8.0.0, v0.37.2 (and v11.0.0 on v1.37).
func checkedInTable(t *testing.T) Table {
	t.Helper()
	tbl, err := table.Load(filepath.Join("..", "..", "..", "fixtures", "verdict-table.json"))
	require.NoError(t, err)
	return Table{Table: tbl}
}

// TestScanSurvivingAddOnOnCheckedInTable: a client-go of the Kubernetes 1.16 era (the
// release of a real add-on that survives expiry) is judged where it was measured around —
// v1.34, and v1.37 since `scan --measure` measured v12.0.0 there (RELOADS, like v0.37.2) —
// and not judged on the sparse minors, whose neighbours (v8.0.0 failing, v0.37.2
// reloading) disagree: shown as context with the command that measures it, never
// "broken". Naming v1.33 makes the gate not judged.
func TestScanSurvivingAddOnOnCheckedInTable(t *testing.T) {
	tbl := checkedInTable(t)
	for version, neighbours := range map[string]map[string][]string{
		// by date: 2019-09-18, before the on-demand run of 2019-10-16
		"v0.0.0-20190918160344-1fbdaa4c8d90":    {"v1.34": {"v12.0.0", "v0.0.0-20191016111102-bec269661e48"}, "v1.37": {"v12.0.0", "v0.37.2"}},
		"v0.16.9-0.20200415000000-0123456789ab": {"v1.34": {"v0.15.7", "v0.17.0"}, "v1.37": {"v12.0.0", "v0.37.2"}}, // after v0.16.8
		"v0.16.8":                               {"v1.34": {"v0.15.7", "v0.17.0"}, "v1.37": {"v12.0.0", "v0.37.2"}},
	} {
		p, g := gate(tbl, version)
		require.Equal(t, verdict.Reloads, p.Verdict, "%s: %s", version, p.Reason)
		require.Equal(t, []string{"v1.34", "v1.37"}, p.DecidedOn, version)
		require.Equal(t, report.Passed, g.Outcome, "%s: %v %v", version, g.Broken, g.NotJudged)
		require.Len(t, p.Minors, 4, version)
		for _, l := range p.Minors {
			if want, judged := neighbours[l.K8sMinor]; judged {
				require.False(t, l.Context, version)
				require.Equal(t, verdict.Reloads, l.Verdict, version)
				require.Equal(t, want, labels(l.Neighbours), "%s on %s", version, l.K8sMinor)
				require.Contains(t, l.Reason, "predicted, unmeasured, between", version)
				continue
			}
			require.True(t, l.Context, "%s on %s", version, l.K8sMinor)
			require.Equal(t, verdict.NotJudged, l.Verdict, "%s on %s: %s", version, l.K8sMinor, l.Reason)
			require.Contains(t, l.Reason, "the neighbours disagree", version)
			require.Equal(t, "satoken run --k8s "+table.LatestOn(tbl.Entries, l.K8sMinor)+" --versions "+version, l.Measure)
		}
	}

	on133, err := tbl.DecideOn("v1.33")
	require.NoError(t, err)
	_, g := gate(on133, "v0.0.0-20190918160344-1fbdaa4c8d90")
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Contains(t, g.NotJudged[0], "between v8.0.0 (v8.0.0+incompatible) (FAILS_AFTER_EXPIRY) and v0.37.2 (RELOADS) on the date axis (2019-09-18): the neighbours disagree")
	require.Contains(t, g.NotJudged[0], "measure it: satoken run --k8s v1.33.13 --versions v0.0.0-20190918160344-1fbdaa4c8d90")
	require.Empty(t, g.Broken, "no cry of wolf")
}

// TestScanBreakingAddOnOnCheckedInTable: v8.0.0 was measured failing on every minor.
func TestScanBreakingAddOnOnCheckedInTable(t *testing.T) {
	tbl := checkedInTable(t)
	p, g := gate(tbl, "v8.0.0+incompatible")
	require.False(t, p.Predicted)
	require.Equal(t, report.Broken, g.Outcome)
	require.Equal(t, []string{"img /ctl v8.0.0+incompatible: FAILS_AFTER_EXPIRY on v1.32, v1.33, v1.34, v1.37"}, g.Broken)
}
