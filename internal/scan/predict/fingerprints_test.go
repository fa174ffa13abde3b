package predict

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

const (
	rest      = find.ClientGoPath + "/rest."
	transport = find.ClientGoPath + "/transport."
)

// testFingerprints: four versions; the functions are made up to cover each shape: in
// every version, until a release, from a release, in one version only.
func testFingerprints() Fingerprints {
	return Fingerprints{SchemaVersion: FingerprintSchemaVersion, Packages: find.FingerprintPackages,
		Versions: []FingerprintVersion{
			{Label: "v8.0.0", Module: "v8.0.0+incompatible"},
			{Label: "v9.0.0", Module: "v9.0.0+incompatible"},
			{Label: "v11.0.0", Module: "v11.0.0+incompatible"},
			{Label: "v0.37.2", Module: "v0.37.2"},
		},
		Functions: map[string][]string{
			rest + "InClusterConfig":            {"v8.0.0", "v9.0.0", "v11.0.0", "v0.37.2"},
			rest + "Request.Do":                 {"v8.0.0", "v9.0.0", "v11.0.0", "v0.37.2"},
			rest + "OldHelper":                  {"v8.0.0", "v9.0.0"},
			rest + "OnlyInV8":                   {"v8.0.0"},
			transport + "NewCachedTokenSource":  {"v9.0.0", "v11.0.0", "v0.37.2"},
			transport + "NewTokenFileRefresher": {"v0.37.2"},
		}}
}

// testTable: measured verdicts for the same versions (arbitrary test data).
func testTable() Table {
	e := func(label, mod string, v verdict.Verdict) table.Entry {
		return table.Entry{Label: label, Module: mod, Verdict: v, Observed: []verdict.Verdict{v}, Runs: 1, MeasuredAt: time.Now()}
	}
	return Table{Table: table.Table{SchemaVersion: table.SchemaVersion, Entries: []table.Entry{
		e("v8.0.0", "v8.0.0+incompatible", verdict.FailsAfterExpiry),
		e("v9.0.0", "v9.0.0+incompatible", verdict.Intermittent),
		e("v11.0.0", "v11.0.0+incompatible", verdict.FailsAfterExpiry),
		e("v0.37.2", "v0.37.2", verdict.Reloads),
	}}}
}

func TestPredictFromSymbols(t *testing.T) {
	for _, tc := range []struct {
		name       string
		funcs      []string
		want       verdict.Verdict
		candidates []string
		reason     string
	}{
		{"fits only the oldest", []string{rest + "InClusterConfig", rest + "OnlyInV8"},
			verdict.FailsAfterExpiry, []string{"v8.0.0"}, "all declared by 1 of the 4 fingerprinted versions (v8.0.0 … v0.37.2), the candidates: v8.0.0 FAILS_AFTER_EXPIRY"},
		{"only functions every version has: candidates disagree, not judged", []string{rest + "InClusterConfig", rest + "(*Request).Do"},
			verdict.NotJudged, []string{"v8.0.0", "v9.0.0", "v11.0.0", "v0.37.2"}, "the candidates disagree and function names cannot tell them apart"},
		{"candidates disagree: not judged, the verdicts named", []string{rest + "OldHelper", "k8s.io/client-go/rest.InClusterConfig.func1"},
			verdict.NotJudged, []string{"v8.0.0", "v9.0.0"}, "v8.0.0 FAILS_AFTER_EXPIRY, v9.0.0 INTERMITTENT"},
		{"a function from a release on", []string{transport + "NewTokenFileRefresher", rest + "Request.Do"},
			verdict.Reloads, []string{"v0.37.2"}, "v0.37.2 RELOADS"},
		{"fits no version", []string{rest + "OnlyInV8", transport + "NewTokenFileRefresher"},
			verdict.NotJudged, nil, "none of the 4 fingerprinted versions (v8.0.0 … v0.37.2) declares all its 2 fingerprinted client-go functions"},
		{"nothing fingerprinted", []string{find.ClientGoPath + "/util/cert.NewPool", rest + "InClusterConfig.func1"},
			verdict.NotJudged, nil, "none of its 2 client-go functions is fingerprinted"},
	} {
		p := PredictFromSymbols(testTable(), testFingerprints(), tc.funcs)
		require.Equal(t, tc.want, p.Verdict, "%s: %s", tc.name, p.Reason)
		require.Equal(t, tc.candidates, p.Candidates, tc.name)
		require.True(t, p.FromSymbols, tc.name)
		require.True(t, p.Predicted, tc.name)
		require.Contains(t, p.Reason, tc.reason, tc.name)
	}
}

// TestPredictFromSymbolsCandidateNotJudged: a candidate without a verdict leaves the
// binary not judged, and measuring the candidate is what would judge it.
func TestPredictFromSymbolsCandidateNotJudged(t *testing.T) {
	tbl := testTable()
	tbl.Entries[0].Verdict, tbl.Entries[0].Observed = verdict.NotJudged, nil // v8.0.0 never judged
	p := PredictFromSymbols(tbl, testFingerprints(), []string{rest + "OnlyInV8"})
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Contains(t, p.Reason, "v8.0.0: measured v8.0.0")
	require.Contains(t, p.Reason, "1 candidate(s) not judged on this minor, so neither is the binary")
	require.Contains(t, p.Measure, "--versions v8.0.0")

	// A fingerprinted version the table lacks is judged like any unmeasured version: older
	// than every one measured, so not at all.
	tbl = testTable()
	tbl.Entries = tbl.Entries[1:]
	p = PredictFromSymbols(tbl, testFingerprints(), []string{rest + "OnlyInV8"})
	require.Equal(t, verdict.NotJudged, p.Verdict, p.Reason)
	require.Contains(t, p.Reason, "older than every version measured")

	// Two candidates that agree, one of them predicted between agreeing neighbours.
	fp := testFingerprints()
	fp.Functions[rest+"OldHelper"] = []string{"v8.0.0", "v9.0.0", "v11.0.0"}
	tbl = testTable()
	tbl.Entries = append(tbl.Entries[:1], tbl.Entries[2:]...) // v9.0.0 unmeasured
	p = PredictFromSymbols(tbl, fp, []string{rest + "OldHelper"})
	require.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
	require.Contains(t, p.Reason, "v8.0.0 FAILS_AFTER_EXPIRY, v9.0.0 FAILS_AFTER_EXPIRY (predicted, unmeasured, between v8.0.0 (v8.0.0+incompatible) and v11.0.0")
}

func TestJudge(t *testing.T) {
	tbl, fp := testTable(), testFingerprints()
	measured := Judged{Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath, Version: "v0.37.2"}, ClientGoBy: find.FromBuildInfo,
		Funcs: []string{rest + "OnlyInV8"}}} // names are not consulted when the version is placed
	measured.Judge(tbl, fp)
	require.Equal(t, verdict.Reloads, measured.Prediction.Verdict)
	require.False(t, measured.Prediction.FromSymbols)

	local := Judged{Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath, Version: "v0.37.2", Replace: &find.Module{Path: "../client-go"}},
		ClientGoBy: find.FromBuildInfo, Funcs: []string{rest + "OnlyInV8"}}}
	local.Judge(tbl, fp)
	require.Equal(t, verdict.FailsAfterExpiry, local.Prediction.Verdict)
	require.True(t, local.Prediction.FromSymbols)
	require.Contains(t, local.Prediction.Reason, "replaced by a local directory")

	vendored := Judged{Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath}, ClientGoBy: find.FromSymbols, Funcs: []string{transport + "NewTokenFileRefresher"}}}
	vendored.Judge(tbl, fp)
	require.Equal(t, verdict.Reloads, vendored.Prediction.Verdict)

	none := Judged{Finding: find.Finding{}}
	none.Judge(tbl, fp)
	require.Nil(t, none.Prediction)
}

func TestDecide(t *testing.T) {
	judged := func(v verdict.Verdict) Judged {
		return Judged{Finding: find.Finding{Target: "img", File: "/bin/" + string(v), ClientGo: &find.Module{Path: find.ClientGoPath}}, Prediction: &Prediction{Verdict: v}}
	}
	noClient := Judged{Finding: find.Finding{Target: "img", File: "/bin/sh-like"}}
	for _, tc := range []struct {
		name             string
		findings         []Judged
		outcome          report.Outcome
		broken, unjudged int
	}{
		{"passed", []Judged{judged(verdict.Reloads), noClient}, report.Passed, 0, 0},
		{"nothing scanned", nil, report.NotJudged, 0, 1},
		{"no client recognised", []Judged{noClient}, report.NotJudged, 0, 1},
		{"broken", []Judged{judged(verdict.Reloads), judged(verdict.FailsAfterExpiry), judged(verdict.Intermittent)}, report.Broken, 2, 0},
		{"not judged", []Judged{judged(verdict.Reloads), judged(verdict.NotJudged), {Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath}}}}, report.NotJudged, 0, 2},
		{"broken and not judged", []Judged{judged(verdict.FailsAfterExpiry), judged(verdict.NotJudged)}, report.Broken, 1, 1},
	} {
		g := Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: tc.findings}}})
		require.Equal(t, tc.outcome, g.Outcome, tc.name)
		require.Len(t, g.Broken, tc.broken, tc.name)
		require.Len(t, g.NotJudged, tc.unjudged, "%s: %v", tc.name, g.NotJudged)
	}
	g := Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: []Judged{judged(verdict.FailsAfterExpiry)}}}})
	require.Equal(t, []string{"img /bin/FAILS_AFTER_EXPIRY: FAILS_AFTER_EXPIRY"}, g.Broken)

	// A target that could not be scanned fails the scan, whatever the others show.
	g = Decide(GateInput{Targets: []Scanned{{Target: "a", Err: errors.New("image a is not present locally")},
		{Target: "b", Findings: []Judged{judged(verdict.FailsAfterExpiry)}}}})
	require.Equal(t, report.Failed, g.Outcome)
	require.Equal(t, []string{"image a is not present locally"}, g.Errors)
}

func TestBuildFingerprints(t *testing.T) {
	probe := func(module string, funcs ...string) find.Finding {
		return find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath, Version: module}, ClientGoBy: find.FromBuildInfo, Funcs: funcs}
	}
	sources := []FingerprintSource{ // out of release order on purpose
		{Label: "v0.37.2", From: "satoken/probe:v0.37.2", Finding: probe("v0.37.2",
			rest+"InClusterConfig", rest+"InClusterConfig.func1", rest+"(*Config).Wrapped", transport+"New", find.ClientGoPath+"/util/cert.NewPool")},
		{Label: "v8.0.0", From: "satoken/probe:v8.0.0", Finding: probe("v8.0.0+incompatible", rest+"InClusterConfig", rest+"(*Request).Do")},
	}
	declared := map[string]map[string]bool{
		// v0.37.2 declares Request.Do although its probe did not link it; (*Config).Wrapped
		// is a promoted method's wrapper, declared nowhere.
		"v0.37.2":             {rest + "InClusterConfig": true, rest + "Request.Do": true, transport + "New": true},
		"v8.0.0+incompatible": {rest + "InClusterConfig": true, rest + "Request.Do": true},
	}
	fp, err := BuildFingerprints(context.Background(), sources, func(_ context.Context, module string, pkgs []string) (map[string]bool, error) {
		require.Equal(t, find.FingerprintPackages, pkgs)
		return declared[module], nil
	})
	require.NoError(t, err)
	require.Equal(t, []FingerprintVersion{
		{Label: "v8.0.0", Module: "v8.0.0+incompatible", From: "satoken/probe:v8.0.0", Linked: 2},
		{Label: "v0.37.2", Module: "v0.37.2", From: "satoken/probe:v0.37.2", Linked: 3},
	}, fp.Versions)
	require.Equal(t, map[string][]string{
		rest + "InClusterConfig": {"v8.0.0", "v0.37.2"},
		rest + "Request.Do":      {"v8.0.0", "v0.37.2"}, // from v0.37.2's source, not its binary
		transport + "New":        {"v0.37.2"},
	}, fp.Functions)

	path := filepath.Join(t.TempDir(), "fp.json")
	require.NoError(t, fp.Write(path))
	back, err := LoadFingerprints(path)
	require.NoError(t, err)
	require.Equal(t, fp, back)

	_, err = BuildFingerprints(context.Background(), []FingerprintSource{{From: "x", Finding: find.Finding{ClientGo: &find.Module{Path: find.ClientGoPath}, ClientGoBy: find.FromSymbols}}}, nil)
	require.ErrorContains(t, err, "x: no client-go version in its build info")
}

func TestDeclsIn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("rest/config.go", "package rest\n\ntype Config struct{}\n\nfunc InClusterConfig() {}\n\nfunc (c *Config) A() {}\n\nfunc (Config) B() {}\n")
	write("rest/windows.go", "//go:build windows\n\npackage rest\n\nfunc OnWindows() {}\n")
	write("rest/config_test.go", "package rest\n\nfunc TestOnly() {}\n")
	write("transport/cache.go", "package transport\n\ntype cache[K comparable] struct{}\n\nfunc (c *cache[K]) get() {}\n")
	got, err := declsIn(dir, []string{find.ClientGoPath + "/rest", find.ClientGoPath + "/transport", find.ClientGoPath + "/missing"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{
		rest + "InClusterConfig": true, rest + "Config.A": true, rest + "Config.B": true, rest + "OnWindows": true,
		transport + "cache.get": true,
	}, got)
}
