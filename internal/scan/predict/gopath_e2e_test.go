//go:build e2e

package predict

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find/findtest"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// addonMain is a v8-era in-cluster client: the calls every controller of that time makes.
const addonMain = `package main

import (
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pods, err := cs.CoreV1().Pods("").List(metav1.ListOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(pods.Items))
}
`

// TestGOPATHVendoredClientGo builds an add-on the way v8–v11-era controllers were built —
// GOPATH mode (GO111MODULE=off), client-go v8.0.0 and its dependencies copied into the
// project's vendor directory, stripped — and checks that scan finds client-go by function
// names under the vendor path and does not pass it. The sources are the modules pinned for
// the v8.0.0 probe (apps/probe/versions/v8.0.0/probe.mod), from the Go module cache.
//
//	go test -tags e2e -run TestGOPATHVendoredClientGo -v ./internal/scan/predict
func TestGOPATHVendoredClientGo(t *testing.T) {
	start := time.Now()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	gopath := t.TempDir()
	project := filepath.Join(gopath, "src", "example.com", "addon")

	// Every module of the v8.0.0 probe's build list, with its directory in the module cache.
	dl := exec.Command("go", "mod", "download", "-json", "-modfile=apps/probe/versions/v8.0.0/probe.mod")
	dl.Dir = root
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	dl.Stderr = &stderr
	out, err := dl.Output()
	require.NoError(t, err, "%s", stderr.String())
	dec := json.NewDecoder(bytes.NewReader(out))
	copied := 0
	for {
		var m struct{ Path, Version, Dir, Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		require.Empty(t, m.Error, m.Path)
		require.NotEmpty(t, m.Dir, m.Path)
		require.NoError(t, copySources(m.Dir, filepath.Join(project, "vendor", filepath.FromSlash(m.Path))), m.Path)
		copied++
	}
	require.NoError(t, os.WriteFile(filepath.Join(project, "main.go"), []byte(addonMain), 0o644))
	t.Logf("vendored %d modules in %s", copied, time.Since(start).Round(time.Second))

	bin := findtest.BuildGOPATHStripped(t, gopath, project)
	t.Logf("built %s in GOPATH mode in %s", bin, time.Since(start).Round(time.Second))

	found, err := find.ClientGo(bin)
	require.NoError(t, err)
	f := Judged{Finding: found}
	require.Empty(t, f.MainModule, "GOPATH mode: no module list in the build info")
	require.Equal(t, find.FromSymbols, f.ClientGoBy)
	require.Equal(t, []string{"example.com/addon/vendor/k8s.io/client-go"}, f.ClientGoAt)
	require.Contains(t, f.Funcs, "k8s.io/client-go/rest.InClusterConfig")

	tbl, err := table.Load(filepath.Join(root, "fixtures", "verdict-table.json"))
	require.NoError(t, err)
	fp, err := LoadFingerprints(filepath.Join(root, "fixtures", "scan", "fingerprints.json"))
	require.NoError(t, err)
	f.Judge(Table{Table: tbl}, fp)
	require.NotNil(t, f.Prediction)
	t.Logf("prediction: %s (candidates %v): %s", f.Prediction.Verdict, f.Prediction.Candidates, f.Prediction.Reason)
	g := Decide(GateInput{Targets: []Scanned{{Target: bin, Findings: []Judged{f}}}})
	require.NotEqual(t, report.Passed, g.Outcome, "a v8.0.0 client must not pass: %v", g.Notes)
	if f.Prediction.Verdict != verdict.NotJudged {
		require.Equal(t, verdict.FailsAfterExpiry, f.Prediction.Verdict)
		require.Contains(t, f.Prediction.Candidates, "v8.0.0")
	}
	t.Logf("took %s", time.Since(start).Round(time.Second))
}

// copySources copies a module's Go package files (tests and testdata left out, as the
// build does not read them) into dst, writable.
func copySources(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == "testdata":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular() || strings.HasSuffix(d.Name(), "_test.go"):
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
