//go:build e2e

package predict

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find/findtest"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// garble is the obfuscator add-ons use, at the newest release this toolchain (Go 1.26)
// builds with: v0.18.0 requires Go 1.27.
const garble = "mvdan.cc/garble@v0.17.0"

// TestScanRealGarbledBinaryNotJudged builds a program linking a stand-in client-go with
// garble (from the module proxy) and checks that scan cannot read it for a client and says
// so: not judged, never "does not link client-go". The first run obfuscates the standard
// library (minutes on two cores); garble's cache makes later runs fast.
//
//	go test -tags e2e -run TestScanRealGarbledBinaryNotJudged -v ./internal/scan/predict
func TestScanRealGarbledBinaryNotJudged(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	files := withModules(findtest.FakeClientGoAt("vendor/k8s.io/client-go", find.ClientGoPath), "require k8s.io/client-go v0.30.0\n",
		"# k8s.io/client-go v0.30.0\n## explicit; go 1.21\nk8s.io/client-go/rest\nk8s.io/client-go/transport\n")
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	bin := filepath.Join(t.TempDir(), "garbled")
	cmd := exec.Command("go", "run", garble, "build", "-mod=vendor", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "garble build: %s", out)
	t.Logf("garble build took %s", time.Since(start).Round(time.Second))

	found, err := find.File(bin)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Nil(t, found[0].ClientGo, "garble hides client-go's names and module")
	require.NotEmpty(t, found[0].Opaque)
	g := gateOf(testTable(), testFingerprints(), bin, found, false)
	require.Equal(t, report.NotJudged, g.Outcome)
	t.Logf("not judged: %v", g.NotJudged)
}
