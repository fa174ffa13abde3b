package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/predict"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// scanCommand runs `satoken scan` with args against the table tbl and no fingerprints,
// returning its output and error.
func scanCommand(t *testing.T, tbl table.Table, args ...string) (string, error) {
	t.Helper()
	out, _, err := scanWith(t, tbl, (*runFlags).reproduce, args...)
	return out, err
}

// scanWith is scanCommand whose --measure runs are run's; it also returns the path of
// the table file.
func scanWith(t *testing.T, tbl table.Table, run measurer, args ...string) (out, tablePath string, err error) {
	t.Helper()
	dir := t.TempDir()
	tablePath, fpPath := filepath.Join(dir, "table.json"), filepath.Join(dir, "fp.json")
	require.NoError(t, tbl.Write(tablePath))
	require.NoError(t, predict.Fingerprints{SchemaVersion: predict.FingerprintSchemaVersion}.Write(fpPath))
	var stdout bytes.Buffer
	c := newScanCommandWith(run)
	c.SetOut(&stdout)
	c.SetErr(io.Discard)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetArgs(append(args, "--table", tablePath, "--fingerprints", fpPath))
	err = c.ExecuteContext(context.Background())
	return stdout.String(), tablePath, err
}

// selfVersion is the client-go version this test binary links (its build info names it).
func selfVersion(t *testing.T) (string, string) {
	self, err := os.Executable()
	require.NoError(t, err)
	found, err := find.ClientGo(self)
	require.NoError(t, err)
	version := found.ClientGoVersion()
	require.NotEmpty(t, version, "the test binary links client-go")
	return self, version
}

// TestScanK8s scans this test binary against a table that measured its client-go version
// on two minors (arbitrary verdicts): a line per minor, and by default the minors where it
// is judged decide; --k8s names the deciding minors (several at once), the others are
// context; a named minor not measured is not judged.
func TestScanK8s(t *testing.T) {
	self, version := selfVersion(t)
	entry := func(minor string, v verdict.Verdict) table.Entry {
		return table.Entry{Label: version, Module: version, K8sMinor: minor, K8sVersion: minor + ".2", Verdict: v,
			Observed: []verdict.Verdict{v}, Counts: map[verdict.Verdict]int{v: 3}, Runs: 3,
			MeasuredAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), TTLSeconds: 600}
	}
	tbl := table.Table{SchemaVersion: table.SchemaVersion, TokenMode: "projected", TTLSeconds: 600,
		Entries: []table.Entry{entry("v1.34", verdict.Reloads), entry("v1.37", verdict.Intermittent)}}
	run := func(args ...string) (string, error) { return scanCommand(t, tbl, append([]string{self}, args...)...) }

	out, err := run()
	require.Equal(t, exitGate, exitCode(t, err), "INTERMITTENT on v1.37 decides: %s", out)
	require.ErrorContains(t, err, "INTERMITTENT on v1.37")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `v1\.34\s+RELOADS\s+measured .* 3 run\(s\): RELOADS ×3, latest 2026-12-01`, lines[1])
	require.Regexp(t, `v1\.37\s+INTERMITTENT\s+measured `, lines[2])

	out, err = run("--k8s", "v1.34")
	require.NoError(t, err, out)
	require.Regexp(t, `v1\.37 \(context, not deciding\)\s+INTERMITTENT`, out)
	require.Contains(t, out, "passed: "+predict.LibraryNote+"\n", "a pass says what it means")
	out, err = run("--k8s", "v1.34", "--json")
	require.NoError(t, err, out)
	var passed struct {
		Outcome string   `json:"outcome"`
		Notes   []string `json:"notes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &passed))
	require.Equal(t, "passed", passed.Outcome)
	require.Equal(t, []string{predict.LibraryNote}, passed.Notes)

	out, err = run("--k8s", "v1.34,v1.37")
	require.Equal(t, exitGate, exitCode(t, err), out)
	_, err = run("--k8s", "v1.34", "--k8s", "v1.37")
	require.Equal(t, exitGate, exitCode(t, err))

	out, err = run("--k8s", "v1.36.1")
	require.Equal(t, exitNotJudged, exitCode(t, err), out)
	require.Contains(t, out, "not judged: not measured on v1.36: the table measured k8s.io/client-go on v1.34, v1.37; measure it: satoken run --k8s v1.36.1 --versions "+version+"\n")
	require.ErrorContains(t, err, "measure it: satoken run --k8s v1.36.1 --versions "+version)

	_, err = run("--k8s", "v1")
	require.ErrorContains(t, err, `--k8s: "v1" is not a Kubernetes version`)
}

// TestScanNothingRecognisedNotJudged: a target in which no Kubernetes client is
// recognised — a shell script, a directory of data — is not judged, not passed; a target
// that cannot be read at all is a harness error.
func TestScanNothingRecognisedNotJudged(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "entrypoint.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec kubectl get pods\n"), 0o755))
	for _, target := range []string{script, dir} {
		out, err := scanCommand(t, table.Table{SchemaVersion: table.SchemaVersion}, target)
		require.Equal(t, exitNotJudged, exitCode(t, err), out)
		require.ErrorContains(t, err, target+": no Kubernetes client recognised")
		require.ErrorContains(t, err, "--allow-none")
	}

	out, err := scanCommand(t, table.Table{SchemaVersion: table.SchemaVersion}, filepath.Join(dir, "missing"), script)
	require.Error(t, err, out)
	var ee *exitError
	require.False(t, errors.As(err, &ee), "an unreadable target is a harness error (exit 1): %v", err)
	require.ErrorContains(t, err, "is not present locally")
}

// TestScanAllowNone: --allow-none passes a target without a client (it says so), and
// changes nothing for a client that is found.
func TestScanAllowNone(t *testing.T) {
	script := filepath.Join(t.TempDir(), "entrypoint.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	tbl := table.Table{SchemaVersion: table.SchemaVersion}
	out, err := scanCommand(t, tbl, script, "--allow-none")
	require.NoError(t, err, out)
	require.Contains(t, out, "passed: "+script+": no Kubernetes client recognised; passed on --allow-none")
	require.NotContains(t, out, predict.LibraryNote, "no library was judged")

	self, _ := selfVersion(t)
	out, err = scanCommand(t, tbl, self, script, "--allow-none", "--json")
	require.Equal(t, exitNotJudged, exitCode(t, err), "an empty table judges nothing: %s", out)
	var got struct {
		Outcome   string   `json:"outcome"`
		NotJudged []string `json:"notJudged"`
		Errors    []string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "not judged", got.Outcome)
	require.Len(t, got.NotJudged, 1)
	require.Contains(t, got.NotJudged[0], self+" ")
	require.Empty(t, got.Errors)
}
