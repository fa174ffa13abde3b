package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// TestScanK8s scans this test binary (it links client-go, so its build info names the
// version) against a table that measured that version on two minors (arbitrary verdicts):
// a line per minor and the worst decides by default; --k8s picks one; a minor not
// measured is not judged.
func TestScanK8s(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	found, err := scan.ClientGo(self)
	require.NoError(t, err)
	version := found.ClientGoVersion()
	require.NotEmpty(t, version, "the test binary links client-go")

	dir := t.TempDir()
	entry := func(minor string, v verdict.Verdict) scan.Entry {
		return scan.Entry{Label: version, Module: version, K8sMinor: minor, K8sVersion: minor + ".2", Verdict: v,
			Observed: []verdict.Verdict{v}, Counts: map[verdict.Verdict]int{v: 3}, Runs: 3,
			MeasuredAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), TTLSeconds: 600}
	}
	tbl := scan.Table{SchemaVersion: scan.TableSchemaVersion, TokenMode: "projected", TTLSeconds: 600,
		Entries: []scan.Entry{entry("v1.34", verdict.Reloads), entry("v1.37", verdict.Intermittent)}}
	tablePath, fpPath := filepath.Join(dir, "table.json"), filepath.Join(dir, "fp.json")
	require.NoError(t, tbl.Write(tablePath))
	require.NoError(t, scan.Fingerprints{SchemaVersion: scan.FingerprintSchemaVersion}.Write(fpPath))

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		c := newScanCommand()
		c.SetOut(&out)
		c.SilenceUsage, c.SilenceErrors = true, true
		c.SetArgs(append([]string{self, "--table", tablePath, "--fingerprints", fpPath}, args...))
		err := c.ExecuteContext(context.Background())
		return out.String(), err
	}

	out, err := run()
	require.Equal(t, exitGate, exitCode(t, err), "INTERMITTENT on v1.37 is the worst: %s", out)
	require.ErrorContains(t, err, "INTERMITTENT on v1.37")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `v1\.34\s+RELOADS\s+measured .* 3 run\(s\): RELOADS ×3, latest 2026-12-01`, lines[1])
	require.Regexp(t, `v1\.37\s+INTERMITTENT\s+measured `, lines[2])

	out, err = run("--k8s", "v1.34")
	require.NoError(t, err, out)
	require.NotContains(t, out, "v1.37")

	out, err = run("--k8s", "v1.36.1")
	require.Equal(t, exitNotJudged, exitCode(t, err), out)
	require.Contains(t, out, "not judged: not measured on v1.36: the table measured k8s.io/client-go on v1.34, v1.37\n")
	require.Equal(t, 1, strings.Count(out, "not measured"), "no fallback to function names on a minor never measured: %s", out)

	_, err = run("--k8s", "v1")
	require.ErrorContains(t, err, `--k8s: "v1" is not a Kubernetes version`)
}
