package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/predict"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// measureTable measured client-go v0.20.0 only, on each of minors (on Kubernetes
// <minor>.4): the test binary's newer client-go is not judged there, and its command
// measures it on <minor>.4.
func measureTable(minors ...string) table.Table {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tbl := table.Table{SchemaVersion: table.SchemaVersion, TokenMode: "projected", TTLSeconds: 600}
	for _, m := range minors {
		tbl.Entries = append(tbl.Entries, table.Entry{Label: "v0.20.0", Module: "v0.20.0", K8sRelease: "1.20", K8sMinor: m, K8sVersion: m + ".4",
			Verdict: verdict.Reloads, Observed: []verdict.Verdict{verdict.Reloads}, Counts: map[verdict.Verdict]int{verdict.Reloads: 1},
			Runs: 1, MeasuredAt: at, TTLSeconds: 600, ModuleTime: &at})
	}
	return tbl
}

// fakeRun stands in for satoken run: it records the flags of each run and reports every
// probe of --versions with verdict v on the cluster's Kubernetes version.
func fakeRun(v verdict.Verdict, ran *[]runFlags) measurer {
	return func(f *runFlags, _ *cobra.Command) (*report.Report, error) {
		*ran = append(*ran, *f)
		k8s := f.cluster.image.k8sVersion
		rep := &report.Report{Command: "run", FinishedAt: time.Now().UTC(), TokenMode: "projected", TTLSeconds: int(f.ttl.Seconds()),
			Clusters: []report.Cluster{{K8sVersion: k8s, Name: f.cluster.name}}}
		for _, label := range strings.Split(f.versions, ",") {
			res := report.Result{K8sVersion: k8s, Verdict: v, Probe: &report.ProbeResult{ClientGo: label, ClientGoModule: label}}
			if v == verdict.NotJudged {
				res.Reason, res.Hint = "no call after the token expired", "re-run with a longer --settle"
			}
			rep.Results = append(rep.Results, res)
		}
		return rep, nil
	}
}

// TestScanMeasureRejudgesFromTheRun: --measure runs the command printed beside the
// client not judged (one run, the table's TTL, its report under --out), merges the report
// in memory and judges again: a RELOADS measurement passes, the line says which report
// measured it, and the command that merges it is printed; the table file is not touched,
// --write-table writes the merged one, which then judges the client without a run.
func TestScanMeasureRejudgesFromTheRun(t *testing.T) {
	self, version := selfVersion(t)
	tbl := measureTable("v1.34")
	out, err := scanCommand(t, tbl, self)
	require.Equal(t, exitNotJudged, exitCode(t, err), out)
	require.ErrorContains(t, err, "measure it: satoken run --k8s v1.34.4 --versions "+version)

	var ran []runFlags
	dir := t.TempDir()
	written := filepath.Join(dir, "merged.json")
	out, tablePath, err := scanWith(t, tbl, fakeRun(verdict.Reloads, &ran), self, "--measure", "--out", dir, "--write-table", written)
	require.NoError(t, err, out)
	require.Len(t, ran, 1)
	f := ran[0]
	require.Equal(t, version, f.versions)
	require.Equal(t, "v1.34.4", f.cluster.image.k8sVersion)
	require.Equal(t, filepath.Join(dir, "k8s-v1.34.4"), f.out)
	require.Equal(t, "satoken-scan-v1-34-4", f.cluster.name)
	require.Equal(t, 10*time.Minute, f.ttl, "the table's TTL: it refuses runs of another")
	require.False(t, f.automount)

	reportPath := filepath.Join(dir, "k8s-v1.34.4", "report.json")
	require.Regexp(t, `v1\.34\s+RELOADS\s+measured \(by --measure, report `+reportPath+`\); measured `+version+` on Kubernetes v1\.34\.4`, out)
	require.Contains(t, out, "\nmeasured by --measure (merged into the table for this scan only; each line they measured says so):\n"+
		"  satoken run --k8s v1.34.4 --versions "+version+": report "+reportPath+"\n")
	require.Contains(t, out, "satoken scan table --merge "+tablePath+" --from "+reportPath+" --write "+tablePath+"\n")

	unchanged, err := table.Load(tablePath)
	require.NoError(t, err)
	require.Len(t, unchanged.Entries, 1, "the table file is never modified without --write-table")
	merged, err := table.Load(written)
	require.NoError(t, err)
	require.Len(t, merged.Entries, 2)
	require.Equal(t, version, merged.Entries[1].Label)

	// The merged table judges the client by itself: nothing left to measure.
	out, _, err = scanWith(t, merged, fakeRun(verdict.Reloads, &ran), self, "--measure", "--out", dir, "--json")
	require.NoError(t, err, out)
	require.Len(t, ran, 1, "no second run")
	require.NotContains(t, out, `"merge"`)

	out, _, err = scanWith(t, tbl, fakeRun(verdict.Reloads, &ran), self, "--measure", "--out", dir, "--json")
	require.NoError(t, err, out)
	var got struct {
		Findings []predict.Judged   `json:"findings"`
		Measured []predict.Measured `json:"measured"`
		Merge    string             `json:"merge"`
		Outcome  string             `json:"outcome"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "passed", got.Outcome)
	require.Equal(t, reportPath, got.Findings[0].Prediction.MeasuredBy)
	require.Equal(t, []string{version}, got.Measured[0].Versions)
	require.Equal(t, reportPath, got.Measured[0].Path)
	require.Contains(t, got.Merge, "--from "+reportPath)
}

// TestScanMeasureFailsAfterExpiry: a FAILS_AFTER_EXPIRY measurement breaks the gate.
func TestScanMeasureFailsAfterExpiry(t *testing.T) {
	self, version := selfVersion(t)
	var ran []runFlags
	out, _, err := scanWith(t, measureTable("v1.34"), fakeRun(verdict.FailsAfterExpiry, &ran), self, "--measure", "--out", t.TempDir())
	require.Equal(t, exitGate, exitCode(t, err), out)
	require.ErrorContains(t, err, version+": FAILS_AFTER_EXPIRY on v1.34")
	require.Regexp(t, `v1\.34\s+FAILS_AFTER_EXPIRY\s+measured \(by --measure, report `, out)
}

// TestScanMeasureNotJudgedKeepsTheRunsReason: a probe the run could not judge leaves the
// line not judged, never a pass, with the run's reason.
func TestScanMeasureNotJudgedKeepsTheRunsReason(t *testing.T) {
	self, version := selfVersion(t)
	var ran []runFlags
	dir := t.TempDir()
	out, _, err := scanWith(t, measureTable("v1.34"), fakeRun(verdict.NotJudged, &ran), self, "--measure", "--out", dir)
	require.Equal(t, exitNotJudged, exitCode(t, err), out)
	require.ErrorContains(t, err, "on v1.34: measured (by --measure, report "+filepath.Join(dir, "k8s-v1.34.4", "report.json")+"), still not judged: "+
		version+" NOT_JUDGED in the run: no call after the token expired (re-run with a longer --settle)")
}

// TestScanMeasureRunErrorIsExit1: a run that fails is a harness error naming the run; a
// report the table refuses is one naming the report.
func TestScanMeasureRunErrorIsExit1(t *testing.T) {
	self, version := selfVersion(t)
	failing := func(*runFlags, *cobra.Command) (*report.Report, error) {
		return nil, errors.New("kind: cluster up timed out")
	}
	out, _, err := scanWith(t, measureTable("v1.34"), failing, self, "--measure", "--out", t.TempDir())
	require.Error(t, err, out)
	var ee *exitError
	require.False(t, errors.As(err, &ee), "a failed run is exit 1: %v", err)
	require.EqualError(t, err, "--measure: satoken run --k8s v1.34.4 --versions "+version+": kind: cluster up timed out")

	var ran []runFlags
	shortTTL := func(f *runFlags, c *cobra.Command) (*report.Report, error) {
		f.ttl = 5 * time.Minute
		return fakeRun(verdict.Reloads, &ran)(f, c)
	}
	dir := t.TempDir()
	_, _, err = scanWith(t, measureTable("v1.34"), shortTTL, self, "--measure", "--out", dir)
	require.False(t, errors.As(err, &ee), "a refused report is exit 1: %v", err)
	require.ErrorContains(t, err, "--measure: "+filepath.Join(dir, "k8s-v1.34.4", "report.json")+": run report finished")
	require.ErrorContains(t, err, "tokens of 300 s")
}

// TestScanMeasureOneRunPerKubernetesVersion: a client not judged on two minors is measured
// by a run on each, in a cluster and directory of its own; --node-image (one node image)
// cannot serve both.
func TestScanMeasureOneRunPerKubernetesVersion(t *testing.T) {
	self, version := selfVersion(t)
	var ran []runFlags
	dir := t.TempDir()
	out, _, err := scanWith(t, measureTable("v1.34", "v1.37"), fakeRun(verdict.Reloads, &ran), self, "--measure", "--out", dir, "--cluster", "ci")
	require.NoError(t, err, out)
	require.Len(t, ran, 2)
	for i, k8s := range []string{"v1.34.4", "v1.37.4"} {
		require.Equal(t, k8s, ran[i].cluster.image.k8sVersion)
		require.Equal(t, version, ran[i].versions)
		require.Equal(t, "ci-"+strings.ReplaceAll(k8s, ".", "-"), ran[i].cluster.name)
		require.Equal(t, filepath.Join(dir, "k8s-"+k8s), ran[i].out)
	}

	_, _, err = scanWith(t, measureTable("v1.34", "v1.37"), fakeRun(verdict.Reloads, &ran), self, "--measure", "--out", dir, "--node-image", "kindest/node:v1.34.0")
	require.ErrorContains(t, err, "--measure: the clients not judged need 2 Kubernetes versions (v1.34.4, v1.37.4), and --node-image or --kubeconfig gives one")
	require.Len(t, ran, 2, "no run started")
}

// TestScanMeasureFlagsNeedMeasure: the measurement flags without --measure would do
// nothing: refused.
func TestScanMeasureFlagsNeedMeasure(t *testing.T) {
	self, _ := selfVersion(t)
	for _, flag := range [][]string{{"--out", "x"}, {"--write-table", "x"}, {"--cluster", "x"}, {"--kubeconfig", "x"}} {
		_, err := scanCommand(t, measureTable("v1.34"), append([]string{self}, flag...)...)
		require.EqualError(t, err, flag[0]+" applies to --measure")
	}
}

// TestScanMeasureSharesRunsFlagChecks: the run flags given to scan reach satoken run's own
// checks, which refuse a bad combination before any cluster or build; scan's --k8s (the
// deciding minors) is not run's and does not count as a cluster flag.
func TestScanMeasureSharesRunsFlagChecks(t *testing.T) {
	self, version := selfVersion(t)
	dir := t.TempDir()
	_, err := scanCommand(t, measureTable("v1.34"), self, "--measure", "--out", dir, "--registry", "registry.example/satoken")
	require.EqualError(t, err, "--measure: satoken run --k8s v1.34.4 --versions "+version+": --registry applies to an existing cluster: give --kubeconfig too (without it satoken creates its own kind cluster)")

	missing := filepath.Join(dir, "missing-kubeconfig")
	_, err = scanCommand(t, measureTable("v1.34"), self, "--measure", "--out", dir, "--k8s", "v1.34", "--kubeconfig", missing, "--registry", "registry.example/satoken")
	require.ErrorContains(t, err, "--measure: satoken run --k8s v1.34.4 --versions "+version+": --kubeconfig "+missing+":")
	_, err = scanCommand(t, measureTable("v1.34"), self, "--measure", "--out", dir, "--kubeconfig", missing, "--registry", "registry.example/satoken", "--cluster", "x")
	require.ErrorContains(t, err, "--cluster applies to a cluster satoken creates; with --kubeconfig nothing is created")
}
