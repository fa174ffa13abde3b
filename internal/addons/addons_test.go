package addons

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestCorpusLoads: every entry has its module files, exactly one way it ships, and an
// expectation written from the client-go code it links.
func TestCorpusLoads(t *testing.T) {
	all, err := Load(repoRoot(t))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(all), 3)
	var broken, passed, timer bool
	for _, a := range all {
		for _, o := range a.Expect.Outcomes {
			broken = broken || (o == "broken" && len(a.Expect.Outcomes) == 1)
			passed = passed || (o == "passed" && len(a.Expect.Outcomes) == 1)
		}
		timer = timer || a.Expect.PassNeedsSecondSwitch
	}
	require.True(t, broken && passed && timer, "one that must break, one that must survive, one timer re-reader")
	sel, err := Select(all, "coredns-1.6.2")
	require.NoError(t, err)
	require.Len(t, sel, 1)
	_, err = Select(all, "nope")
	require.ErrorContains(t, err, "known: all")
}

func TestCopyTreeSubstitutes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.yaml")
	require.NoError(t, writeFile(src, "ip: $DNS_SERVER_IP\nserver: $DNS_SERVER\n"))
	require.NoError(t, copyTree(src, filepath.Join(dir, "out.yaml"), map[string]string{"$DNS_SERVER": "s", "$DNS_SERVER_IP": "10.96.0.10"}))
	got, err := readFile(filepath.Join(dir, "out.yaml"))
	require.NoError(t, err)
	require.Equal(t, "ip: 10.96.0.10\nserver: s\n", got)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
