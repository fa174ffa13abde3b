package scan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func TestClientGoK8sRelease(t *testing.T) {
	for v, want := range map[string]string{
		"v0.16.15": "1.16", "v0.37.2": "1.37", "v12.0.0": "1.15", "v8.0.0+incompatible": "1.11",
		"v0.18.0-beta.1": "1.18", "v0.16.16-0.20201010101010-abcdefabcdef": "1.16",
		"v0.0.0-20190918160344-1fbdaa4c8d90": "", // a date says no release
		"v1.2.3":                             "", "nope": "",
	} {
		require.Equal(t, want, ClientGoK8sRelease(v), v)
	}
}

// Probes built on demand (satoken run --versions <unpinned>) are reported like pinned ones
// and merge into the table like them, a date-only pseudo-version without a k8sRelease.
func TestTableMergesUnpinnedProbes(t *testing.T) {
	pseudo := "v0.0.0-20190918160344-1fbdaa4c8d90"
	tbl, err := TableFromReports(runOf(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: pseudo, ClientGoModule: pseudo, Library: ClientGoPath}},
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.16.15", ClientGoModule: "v0.16.15", K8sRelease: "1.16", Library: ClientGoPath}},
		report.Result{K8sVersion: "v1.34.4", Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "js-0.10.1", ClientGoModule: ClientNodeModule("0.10.1"), Library: ClientNodePackage}},
	))
	require.NoError(t, err)
	require.Equal(t, []string{pseudo, "v0.16.15", "js-0.10.1"}, labels(tbl.Entries))
	require.Equal(t, time.Date(2019, 9, 18, 16, 3, 44, 0, time.UTC), *tbl.Entries[0].ModuleTime)
	require.Equal(t, "", tbl.Entries[0].K8sRelease)
	require.Equal(t, "1.16", tbl.Entries[1].K8sRelease)
	require.True(t, tbl.Entries[2].IsClientNode())
	require.Equal(t, verdict.FailsAfterExpiry, tbl.Entries[2].Verdict)
}
