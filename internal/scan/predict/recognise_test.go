package predict

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find/findtest"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// vendoredModuleBinary builds files as the module example.com/addon with -mod=vendor,
// stripped: its dependencies are the files under vendor/, listed in vendor/modules.txt,
// so nothing is downloaded, and the build info records the module list, replace
// directives included, as for any module build.
func vendoredModuleBinary(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	bin := filepath.Join(t.TempDir(), "addon")
	cmd := exec.Command("go", "build", "-mod=vendor", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "GOPROXY=off", "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "module build: %s", out)
	return bin
}

// withModules adds go.mod and vendor/modules.txt to files.
func withModules(files map[string]string, goMod, modulesTxt string) map[string]string {
	files["go.mod"] = "module example.com/addon\n\ngo 1.21\n\n" + goMod
	files["vendor/modules.txt"] = modulesTxt
	return files
}

// wipeSection overwrites the first bytes of an ELF section of bin, as an obfuscator or a
// stripping tool leaves it: .go.buildinfo (the build info's magic) or .gopclntab (the
// function table's header).
func wipeSection(t *testing.T, bin, name string) {
	t.Helper()
	f, err := elf.Open(bin)
	require.NoError(t, err)
	sec := f.Section(name)
	require.NotNil(t, sec, name)
	off := int64(sec.Offset)
	f.Close()
	w, err := os.OpenFile(bin, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.WriteAt(make([]byte, 16), off)
	require.NoError(t, err)
}

// judgeAll judges found on tbl, as scan does.
func judgeAll(tbl Table, fp Fingerprints, found []find.Finding) []Judged {
	out := make([]Judged, len(found))
	for i, f := range found {
		out[i] = Judged{Finding: f}
		out[i].Judge(tbl, fp)
	}
	return out
}

// gateOf judges the findings of one target on tbl and decides on them, as scan does.
func gateOf(tbl Table, fp Fingerprints, target string, found []find.Finding, allowNone bool) Gate {
	return Decide(GateInput{Targets: []Scanned{{Target: target, Findings: judgeAll(tbl, fp, found)}}, AllowNone: allowNone})
}

// TestScanGarbledBinaryNotJudged: garble leaves a Go binary without a module list and with
// a function table Go's tools cannot read (its header rewritten). Simulated here on a
// GOPATH-mode build that links client-go, its .gopclntab header wiped (garble itself needs a
// newer Go than this toolchain; e2e/ runs the real one when it can): whether it links a
// client cannot be told, so it is not judged — never "does not link client-go", exit 0.
// The same binary stripped of its build info as well is no Go binary at all to the scan:
// nothing recognised, not judged.
func TestScanGarbledBinaryNotJudged(t *testing.T) {
	bin := findtest.GOPATHBinary(t, findtest.FakeClientGo)
	wipeSection(t, bin, ".gopclntab")
	found, err := find.File(bin)
	require.NoError(t, err, "readable: exit 1 is for targets that cannot be read")
	require.Len(t, found, 1)
	require.Nil(t, found[0].ClientGo)
	require.Contains(t, found[0].Opaque, "without a module list and without readable function names")
	g := gateOf(testTable(), testFingerprints(), bin, found, false)
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Len(t, g.NotJudged, 2, "the binary, and the target without a recognised client")
	require.Contains(t, g.NotJudged[1], bin+": no Kubernetes client recognised")
	require.Equal(t, report.Passed, gateOf(testTable(), testFingerprints(), bin, found, true).Outcome, "--allow-none")

	wipeSection(t, bin, ".go.buildinfo")
	found, err = find.File(bin)
	require.NoError(t, err)
	require.Empty(t, found)
	g = gateOf(testTable(), testFingerprints(), bin, found, false)
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Equal(t, []string{bin + ": no Kubernetes client recognised (0 Go binaries without client-go; no @kubernetes/client-node package.json " +
		"under node_modules nor bundled .js file with its code); not a pass: an obfuscated, packed or bundled client looks like none; " +
		"pass --allow-none if it does not talk to the apiserver"}, g.NotJudged)
}

// TestScanRenamedVendoredPathRecognised: a client-go copied under a renamed directory
// (the add-on's own third_party tree rather than vendor/) is still client-go to the scan,
// found by the end of its package paths, with its build info stripped too; a path ending
// in client-go but not k8s.io/client-go is a fork (TestScanForkNotJudged).
func TestScanRenamedVendoredPathRecognised(t *testing.T) {
	bin := findtest.GOPATHBinary(t, findtest.FakeClientGoAt("third_party/k8s.io/client-go", "example.com/addon/third_party/k8s.io/client-go"))
	wipeSection(t, bin, ".go.buildinfo")
	found, err := find.File(bin)
	require.NoError(t, err)
	require.Len(t, found, 1)
	f := found[0]
	require.Equal(t, find.FromSymbols, f.ClientGoBy)
	require.Equal(t, []string{"example.com/addon/third_party/k8s.io/client-go"}, f.ClientGoAt)
	require.Nil(t, f.Fork)
	require.Equal(t, []string{"k8s.io/client-go/rest.(*Config).Describe", "k8s.io/client-go/rest.InClusterConfig", "k8s.io/client-go/transport.New"}, f.Funcs)

	fp := testFingerprints()
	fp.Functions[rest+"InClusterConfig"] = []string{"v8.0.0"} // as if only v8.0.0 declared it
	g := gateOf(testTable(), fp, bin, found, false)
	require.Equal(t, report.Broken, g.Outcome, "placed by its names: %v", g.NotJudged)
}

// TestScanForkNotJudged: a client-go that is not k8s.io/client-go as released — replaced
// by another module path, or a fork imported by its own path — is not judged by the
// version it claims, even one measured RELOADS; a replace by the same path at another
// version, or by a local directory, is client-go.
func TestScanForkNotJudged(t *testing.T) {
	tbl := Table{Table: table.Table{Entries: []table.Entry{{Label: "v0.30.0", Module: "v0.30.0", Verdict: verdict.Reloads, K8sMinor: "v1.34", K8sVersion: "v1.34.4"}}}}
	const pkgs = "k8s.io/client-go/rest\nk8s.io/client-go/transport\n"
	for _, tc := range []struct {
		name, goMod, modulesTxt string
		files                   map[string]string
		fork                    *find.Fork
		outcome                 report.Outcome
		reason                  string
	}{
		{"replaced by another module path",
			"require k8s.io/client-go v0.30.0\n\nreplace k8s.io/client-go => example.com/fork/client-go v0.30.0\n",
			"# k8s.io/client-go v0.30.0 => example.com/fork/client-go v0.30.0\n## explicit; go 1.21\n" + pkgs + "# k8s.io/client-go => example.com/fork/client-go v0.30.0\n",
			findtest.FakeClientGoAt("vendor/k8s.io/client-go", find.ClientGoPath), &find.Fork{Path: "example.com/fork/client-go", Version: "v0.30.0", Replace: true}, report.NotJudged,
			"k8s.io/client-go v0.30.0 is replaced by another module, example.com/fork/client-go v0.30.0: a fork is not judged by the version it claims"},
		{"a fork imported by its own path",
			"require example.com/fork/client-go v0.30.0\n",
			"# example.com/fork/client-go v0.30.0\n## explicit; go 1.21\nexample.com/fork/client-go/rest\nexample.com/fork/client-go/transport\n",
			findtest.FakeClientGoAt("vendor/example.com/fork/client-go", "example.com/fork/client-go"), &find.Fork{Path: "example.com/fork/client-go", Version: "v0.30.0"}, report.NotJudged,
			"client-go's packages are compiled in from the module example.com/fork/client-go v0.30.0 (at example.com/fork/client-go), not from k8s.io/client-go"},
		{"client-go itself",
			"require k8s.io/client-go v0.30.0\n",
			"# k8s.io/client-go v0.30.0\n## explicit; go 1.21\n" + pkgs,
			findtest.FakeClientGoAt("vendor/k8s.io/client-go", find.ClientGoPath), nil, report.Passed, "measured v0.30.0"},
		{"replaced by the same path at another version",
			"require k8s.io/client-go v0.20.0\n\nreplace k8s.io/client-go => k8s.io/client-go v0.30.0\n",
			"# k8s.io/client-go v0.20.0 => k8s.io/client-go v0.30.0\n## explicit; go 1.21\n" + pkgs + "# k8s.io/client-go => k8s.io/client-go v0.30.0\n",
			findtest.FakeClientGoAt("vendor/k8s.io/client-go", find.ClientGoPath), nil, report.Passed, "measured v0.30.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each builds a binary: the links overlap
			bin := vendoredModuleBinary(t, withModules(tc.files, tc.goMod, tc.modulesTxt))
			found, err := find.File(bin)
			require.NoError(t, err)
			require.Len(t, found, 1)
			require.Equal(t, tc.fork, found[0].Fork)
			judged := judgeAll(tbl, testFingerprints(), found)
			g := Decide(GateInput{Targets: []Scanned{{Target: bin, Findings: judged}}})
			require.Equal(t, tc.outcome, g.Outcome, "%v", g.NotJudged)
			require.Contains(t, judged[0].Prediction.Reason, tc.reason)
		})
	}
}

// TestScanBundledClientNodeNotJudged: a webpack/esbuild bundle keeps client-node's
// in-cluster configuration strings but no package version: recognised, not judged. The
// package's own files beside its package.json are the package, not a bundle; a renamed
// fork's files are a bundle of it.
func TestScanBundledClientNodeNotJudged(t *testing.T) {
	// A minified bundle as bundlers write it (our own text, shaped like the real output):
	// locals renamed, string literals and method names kept.
	bundle := `"use strict";var a=require("fs");class K{loadFromCluster(p=""){const h=process.env.KUBERNETES_SERVICE_HOST,` +
		`c="inCluster",u="inClusterUser",x="inClusterContext";this.t=p+"/var/run/secrets/kubernetes.io/serviceaccount/token"}}` +
		strings.Repeat(`function f(){return 1}`, 5000) + `module.exports={K};`
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("app/dist/main.js", bundle)
	write("app/dist/other.mjs", `export const x = "loadFromCluster inClusterUser"`) // some strings only
	write("app/node_modules/@kubernetes/client-node/package.json", findtest.Manifest(find.ClientNodePackage, "1.4.0"))
	write("app/node_modules/@kubernetes/client-node/dist/config.js", bundle)
	write("app/node_modules/@acme/kube/package.json", findtest.Manifest("@acme/kube", "1.0.0"))
	write("app/node_modules/@acme/kube/dist/config.js", bundle)

	found, err := find.Dir(root)
	require.NoError(t, err)
	var files []string
	for _, f := range found {
		files = append(files, f.File)
	}
	require.Equal(t, []string{"/app/dist/main.js", "/app/node_modules/@acme/kube/dist/config.js", "/app/node_modules/@kubernetes/client-node/package.json"}, files)
	require.Equal(t, find.FromBundle, found[0].ClientGoBy)
	require.True(t, found[0].IsClientNode())
	require.Empty(t, found[0].ClientGoVersion())

	tbl := Table{Table: table.Table{Entries: []table.Entry{jsEntry("1.4.0", verdict.Reloads)}}}
	g := gateOf(tbl, Fingerprints{}, root, found, false)
	require.Equal(t, report.NotJudged, g.Outcome)
	require.Len(t, g.NotJudged, 2)
	require.Contains(t, g.NotJudged[0], "/app/dist/main.js: @kubernetes/client-node found, not judged: @kubernetes/client-node bundled into /app/dist/main.js")
	require.Contains(t, g.NotJudged[0], "a bundle records no package version")

	// One bundle file, given as the target.
	found, err = find.File(filepath.Join(root, "app", "dist", "main.js"))
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, find.FromBundle, found[0].ClientGoBy)
}

// TestScanPackedExecutableNotJudged: a UPX-packed executable hides its code and names. The
// input is simulated (a C executable with UPX's marker written into its first page; upx is
// not in this host's apt sources): not a Go binary to debug/buildinfo, so without the
// marker check it would be skipped like any C program.
func TestScanPackedExecutableNotJudged(t *testing.T) {
	data, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "packed")
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	found, err := find.File(bin)
	require.NoError(t, err)
	require.Empty(t, found, "a C program holds no client")

	copy(data[0x300:], "UPX!")
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	found, err = find.File(bin)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Contains(t, found[0].Opaque, "UPX-packed executable")
	require.Equal(t, report.NotJudged, gateOf(Table{}, Fingerprints{}, bin, found, false).Outcome)
}
