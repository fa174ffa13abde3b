package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func TestParseExpect(t *testing.T) {
	got, err := parseExpect("v0.15.7=RELOADS, v8.0.0=fails_after_expiry")
	require.NoError(t, err)
	require.Equal(t, map[string]verdict.Verdict{"v0.15.7": verdict.Reloads, "v8.0.0": verdict.FailsAfterExpiry}, got)

	empty, err := parseExpect("")
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, bad := range []string{"v8.0.0", "=RELOADS", "v8.0.0=BROKEN"} {
		_, err := parseExpect(bad)
		require.Error(t, err, bad)
	}
}

func TestRunExit(t *testing.T) {
	rep := &report.Report{Command: "run", Results: []report.Result{{Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "v8.0.0"}}}}
	applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.FailsAfterExpiry})
	require.NoError(t, runExit(rep))
	require.Equal(t, report.Passed, rep.Decide())

	rep.Expectations = nil
	applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.Reloads})
	require.Equal(t, exitGate, exitCode(t, runExit(rep)), "a missed expectation is a gate failure, not a harness error")
	require.Equal(t, report.Broken, rep.Decide())
	require.False(t, rep.Expectations[0].Met)

	// A probe the data could not judge is never a pass, expected or not.
	rep = &report.Report{Command: "run", Results: []report.Result{{Verdict: verdict.NotJudged, Reason: "r", Hint: "h", Probe: &report.ProbeResult{ClientGo: "v8.0.0"}}}}
	require.Equal(t, exitNotJudged, exitCode(t, runExit(rep)))
	applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.FailsAfterExpiry})
	require.Equal(t, exitNotJudged, exitCode(t, runExit(rep)))
	require.Equal(t, report.NotJudged, rep.Decide())

	// An expected probe with no result at all is not a pass either, in the exit code as in
	// the report.
	rep = &report.Report{Command: "run", Results: []report.Result{{Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2"}}}}
	applyExpectations(rep, map[string]verdict.Verdict{"v8.0.0": verdict.FailsAfterExpiry})
	require.Equal(t, exitNotJudged, exitCode(t, runExit(rep)))
	require.ErrorContains(t, runExit(rep), "probe not in this run")
	require.Equal(t, report.NotJudged, rep.Decide())
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exitError
	require.True(t, errors.As(err, &ee), "%v", err)
	return ee.code
}

func TestMatrixParts(t *testing.T) {
	f := &runFlags{}
	f.cluster.name, f.out = "satoken-run", "out"
	f.cluster.image.k8sVersion = "v1.34.4, v1.37.2"
	parts, err := f.parts()
	require.NoError(t, err)
	require.Len(t, parts, 2)
	require.Equal(t, "v1.37.2", parts[1].cluster.image.k8sVersion)
	require.Equal(t, "satoken-run-v1-37-2", parts[1].cluster.name, "a cluster per version, so their locks and kubeconfigs differ")
	require.Equal(t, "out/k8s-v1.37.2", parts[1].out)
	require.Equal(t, "v1.34.4, v1.37.2", f.cluster.image.k8sVersion, "the flags themselves are left alone")

	f.cluster.image.k8sVersion = "v1.34.4"
	parts, err = f.parts()
	require.NoError(t, err)
	require.Equal(t, []sessionFlags{f.sessionFlags}, parts, "one version: the run's own cluster and out")

	f.cluster.image.k8sVersion = "v1.34.4,v1.34.4"
	_, err = f.parts()
	require.ErrorContains(t, err, "--k8s names v1.34.4 twice")

	// A release and a source tree side by side: each part builds only its own.
	f.cluster.image.k8sVersion, f.cluster.image.k8sSource = "v1.34.4", "/src/kubernetes"
	parts, err = f.parts()
	require.NoError(t, err)
	require.Len(t, parts, 2)
	require.Equal(t, nodeImageFlags{k8sVersion: "v1.34.4"}, parts[0].cluster.image)
	require.Equal(t, nodeImageFlags{k8sSource: "/src/kubernetes"}, parts[1].cluster.image)
	require.Equal(t, "satoken-run-source", parts[1].cluster.name)
	require.Equal(t, "out/k8s-source", parts[1].out)
	f.cluster.image.k8sSource = ""

	f.cluster.image.k8sVersion, f.cluster.image.nodeImage = "v1.34.4,v1.37.2", "kindest/node:v1.34.0"
	_, err = f.parts()
	require.ErrorContains(t, err, "--node-image is one node image")
}

func TestCheckParallel(t *testing.T) {
	require.NoError(t, checkParallel(1, 1))
	require.ErrorContains(t, checkParallel(0, 2), "want at least 1")
	require.ErrorContains(t, checkParallel(2, 1), "only one cluster to run")
	require.ErrorContains(t, checkParallel(3, 2), "only 2 clusters to run")
}

// TestOneOutcomeRule: the exit code of a judging command is derived from the report's one
// outcome (report.Decide), never computed a second time — also for a report without
// results, which Decide calls not judged.
func TestOneOutcomeRule(t *testing.T) {
	for _, rep := range []*report.Report{
		{Command: "run"},
		{Command: "check"},
		{Command: "run", Clusters: []report.Cluster{{K8sVersion: "v1.34.4"}}},
		{Command: "run", Results: []report.Result{{Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2"}}}},
		{Command: "check", Results: []report.Result{{Verdict: verdict.Reloads, Restarts: 1, Workload: &report.WorkloadResult{}}}},
		{Command: "run", Error: "interrupted", Results: []report.Result{{Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2"}}}},
	} {
		err := runExit(rep)
		want := map[report.Outcome]int{report.Passed: 0, report.Broken: exitGate, report.NotJudged: exitNotJudged, report.Failed: 1}[rep.Outcome]
		switch want {
		case 0:
			require.NoError(t, err, "%+v", rep)
		case 1:
			var ee *exitError
			require.False(t, errors.As(err, &ee), "an error is exit 1")
			require.Error(t, err)
		default:
			require.Equal(t, want, exitCode(t, err), "%+v", rep)
			require.NotEmpty(t, rep.Why(), "the exit says why")
		}
	}
}
