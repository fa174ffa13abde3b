package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func manifest(name, version string) string {
	return `{"name":"` + name + `","version":"` + version + `","main":"dist/index.js"}`
}

// TestLayerFindsClientNode: every client-node package.json at a package's root under a
// node_modules, nested copies included; other packages, and a manifest of another package
// at client-node's path, are not.
func TestLayerFindsClientNode(t *testing.T) {
	layer := gzipped(t, tarOf(t,
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: manifest(ClientNodePackage, "0.10.3")},
		member{name: "app/node_modules/@kubernetes/client-node/dist/index.js", content: "exports.x = 1\n"},
		member{name: "app/node_modules/@kubernetes/client-node/dist/esm/package.json", content: `{"type":"module","name":"@kubernetes/client-node"}`}, // not a package root
		member{name: "app/node_modules/addon/node_modules/@kubernetes/client-node/package.json", content: "\xef\xbb\xbf" + manifest(ClientNodePackage, "0.22.3")},
		member{name: "srv/node_modules/@kubernetes/client-node/package.json", content: manifest("not-client-node", "1.0.0")},
		member{name: "srv/node_modules/broken/package.json", content: "{"}, // some package's broken manifest says nothing
		member{name: "app/package.json", content: manifest("app", "1.0.0")},
	))
	found, err := Layer(bytes.NewReader(layer))
	require.NoError(t, err)
	require.Len(t, found, 2)
	require.Equal(t, "/app/node_modules/@kubernetes/client-node/package.json", found[0].File)
	require.Equal(t, "0.10.3", found[0].ClientGoVersion())
	require.True(t, found[0].IsClientNode())
	require.Equal(t, FromPackageJSON, found[0].ClientGoBy)
	require.Equal(t, "/app/node_modules/addon/node_modules/@kubernetes/client-node/package.json", found[1].File)
	require.Equal(t, "0.22.3", found[1].ClientGoVersion())

	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/@kubernetes/client-node/package.json", content: manifest(ClientNodePackage, "")})))
	require.ErrorContains(t, err, "no version")
	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/@kubernetes/client-node/package.json", content: "{"})))
	require.ErrorContains(t, err, "package.json")
	_, err = Layer(bytes.NewReader(tarOf(t, member{name: "node_modules/k8s/package.json", content: `{"name":"@kubernetes/client-node",`})))
	require.ErrorContains(t, err, "package.json", "a broken manifest naming client-node cannot be passed over")
}

// TestScanNpmAliasRecognised: npm installs an alias ("k8s": "npm:@kubernetes/client-node@0.10.2")
// under the alias's directory; the manifest's name says what it is. A package renamed on
// publication (a fork) is another package.
func TestScanNpmAliasRecognised(t *testing.T) {
	tbl := Table{Entries: []Entry{jsEntry("0.10.2", verdict.FailsAfterExpiry)}}
	for _, dir := range []string{"k8s", "@acme/kube-client", "@kubernetes/client-node-fork"} {
		layer := tarOf(t, member{name: "app/node_modules/" + dir + "/package.json", content: manifest(ClientNodePackage, "0.10.2")},
			member{name: "app/node_modules/@acme/client-node/package.json", content: manifest("@acme/client-node", "0.10.2")})
		found, err := Layer(bytes.NewReader(layer))
		require.NoError(t, err, dir)
		require.Len(t, found, 1, dir)
		require.Equal(t, "/app/node_modules/"+dir+"/package.json", found[0].File)
		found[0].Judge(tbl, Fingerprints{})
		g := Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: found}}})
		require.Equal(t, report.Broken, g.Outcome, dir)
	}
	for _, name := range []string{"app/node_modules/.bin/package.json", "app/node_modules/@scope/package.json", "node_modules/a/b/package.json", "xnode_modules/a/package.json"} {
		require.False(t, isPackageManifest("/"+name), name)
	}
}

// A later layer's whiteout removes a client-node installed below it, as for Go binaries.
func TestScanSaveClientNodeWhiteout(t *testing.T) {
	lower := tarOf(t,
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: manifest(ClientNodePackage, "0.10.2")},
		member{name: "old/node_modules/@kubernetes/client-node/package.json", content: manifest(ClientNodePackage, "0.10.2")},
	)
	upper := gzipped(t, tarOf(t,
		member{name: "old/.wh.node_modules"},
		member{name: "app/node_modules/@kubernetes/client-node/package.json", content: manifest(ClientNodePackage, "1.4.0")},
	))
	archive := tarOf(t,
		member{name: "lower/layer.tar", content: string(lower)},
		member{name: "blobs/sha256/up", content: string(upper)},
		member{name: "manifest.json", content: `[{"Layers":["lower/layer.tar","blobs/sha256/up"]}]`},
	)
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, os.WriteFile(path, archive, 0o644))
	found, err := ScanSave(path, "satoken/probe:js")
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "satoken/probe:js", found[0].Target)
	require.Equal(t, "1.4.0", found[0].ClientGoVersion())
}

// Dir scans an application tree; Image takes an existing directory for one.
func TestDirFindsClientNodeAndGoBinaries(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o755))
	}
	write("node_modules/@kubernetes/client-node/package.json", manifest(ClientNodePackage, "1.4.0"))
	write("node_modules/@kubernetes/client-node/README.md", "docs")
	write("bin/not-go", "\x7fELF not really")
	write(".git/node_modules/@kubernetes/client-node/package.json", manifest(ClientNodePackage, "0.0.1"))
	bin, err := os.ReadFile(tinyBinary(t))
	require.NoError(t, err)
	write("bin/tiny", string(bin))

	for _, scan := range []func() ([]Finding, error){
		func() ([]Finding, error) { return Dir(root) },
		func() ([]Finding, error) { return Image(context.Background(), root) },
	} {
		found, err := scan()
		require.NoError(t, err)
		require.Len(t, found, 2)
		require.Equal(t, "/bin/tiny", found[0].File)
		require.Equal(t, "example.com/tiny", found[0].MainModule)
		require.Nil(t, found[0].ClientGo)
		require.Equal(t, "/node_modules/@kubernetes/client-node/package.json", found[1].File)
		require.Equal(t, "1.4.0", found[1].ClientGoVersion())
		require.Equal(t, root, found[1].Target)
	}
}

func jsEntry(version string, v verdict.Verdict) Entry {
	return Entry{Label: "js-" + version, Module: ClientNodeModule(version), Verdict: v, Observed: []verdict.Verdict{v},
		Counts: map[verdict.Verdict]int{v: 1}, Runs: 1, K8sVersion: "v1.34.4", TTLSeconds: 600}
}

func TestPredictClientNode(t *testing.T) {
	tbl := Table{SchemaVersion: TableSchemaVersion, TokenMode: "projected", TTLSeconds: 600, Entries: []Entry{
		{Label: "v0.17.0", Module: "v0.17.0", K8sRelease: "1.17", Verdict: verdict.Reloads, Observed: []verdict.Verdict{verdict.Reloads}},
		{Label: "v0.21.1", Module: "v0.21.1", K8sRelease: "1.21", Verdict: verdict.Reloads, Observed: []verdict.Verdict{verdict.Reloads}},
		jsEntry("0.10.2", verdict.FailsAfterExpiry),
		jsEntry("0.10.3", verdict.Reloads),
		jsEntry("0.18.1", verdict.FailsAfterExpiry), // made up: must not leak into client-go v0.18.1
		jsEntry("0.20.0", verdict.FailsAfterExpiry), // made up
		jsEntry("1.4.0", verdict.Reloads),
		jsEntry("0.22.3", verdict.NotJudged),
	}}
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
	f := Finding{Target: "img", ClientGo: &Module{Path: ClientNodePackage, Version: "0.10.2"}, ClientGoBy: FromPackageJSON}
	f.Judge(tbl, Fingerprints{})
	require.Equal(t, verdict.FailsAfterExpiry, f.Prediction.Verdict)
	g := Decide(GateInput{Targets: []Scanned{{Target: "img", Findings: []Finding{f}}}})
	require.Equal(t, report.Broken, g.Outcome)
	require.Equal(t, []string{"img 0.10.2: FAILS_AFTER_EXPIRY"}, g.Broken)
}

// TestPredictClientNode2xNotFrom1x: each client-node major rewrote its HTTP layer, so 2.x
// is never predicted from 1.x (or 0.x) measurements, even when they agree around it.
func TestPredictClientNode2xNotFrom1x(t *testing.T) {
	tbl := Table{Entries: []Entry{jsEntry("0.10.3", verdict.Reloads), jsEntry("1.4.0", verdict.Reloads), jsEntry("3.0.0", verdict.Reloads)}}
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

// Reports of JavaScript probes make client-node entries: their own Markdown table, no
// module time looked up.
func TestTableWithClientNode(t *testing.T) {
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	rep := &report.Report{Command: "run", FinishedAt: at, TokenMode: "projected", TTLSeconds: 600,
		Results: []report.Result{
			{K8sVersion: "v1.34.4", Verdict: verdict.Reloads, Probe: &report.ProbeResult{ClientGo: "v0.37.2", ClientGoModule: "v0.37.2", K8sRelease: "1.37"}},
			{K8sVersion: "v1.34.4", Verdict: verdict.FailsAfterExpiry, Probe: &report.ProbeResult{ClientGo: "js-0.10.2", ClientGoModule: ClientNodeModule("0.10.2")}},
		}}
	tbl, err := TableFromReports(rep)
	require.NoError(t, err)
	require.Len(t, tbl.Entries, 2)
	require.True(t, tbl.Entries[1].IsClientNode())
	require.False(t, tbl.Entries[0].IsClientNode())

	md := tbl.Markdown()
	goTable, jsTable, ok := strings.Cut(md, "\n| @kubernetes/client-node | probe | verdict on v1.34 |")
	require.True(t, ok, md)
	require.Contains(t, goTable, "| v0.37.2 | `v0.37.2` | 1.37 | **RELOADS** (1/1) |")
	require.NotContains(t, goTable, "js-0.10.2")
	require.Contains(t, jsTable, "| 0.10.2 | js-0.10.2 | **FAILS_AFTER_EXPIRY** (1/1) |")

	js := Table{Entries: []Entry{tbl.Entries[1]}}
	require.NoError(t, js.ResolveModuleTimes(context.Background()), "client-node entries need no module time")
	require.Nil(t, js.Entries[0].ModuleTime)
	require.NotContains(t, Table{Entries: tbl.Entries[:1]}.Markdown(), ClientNodePackage, "a client-go-only table is unchanged")
}
