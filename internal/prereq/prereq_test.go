package prereq

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder stands for a test: it records whether the prerequisite check skipped or
// failed it (testing.TB cannot be implemented outside package testing but embedded).
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skipf(format string, args ...any) { r.skipped = format }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}

// TestMissingFailsInCI: with CI=true a missing tool (here one that cannot exist) fails the
// test; on a contributor's machine it skips it.
func TestMissingFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{}
	Command(r, "satoken-no-such-tool", "for this test")
	require.NotEmpty(t, r.failed, "CI=true: a missing prerequisite fails")
	require.Empty(t, r.skipped)

	t.Setenv("CI", "")
	r = &recorder{}
	Command(r, "satoken-no-such-tool", "for this test")
	require.NotEmpty(t, r.skipped, "outside CI: skipped")
	require.Empty(t, r.failed)

	t.Setenv("CI", "false")
	require.False(t, InCI())
}
