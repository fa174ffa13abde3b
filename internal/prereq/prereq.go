// Package prereq is how a test meets a missing prerequisite (a host tool, a module in the
// cache): skipped on a contributor's machine, a failure in CI (CI=true), where a skipped
// test would be a test that cannot fail.
package prereq

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI: $CI set to a true value, as CI systems set it
// (and .ci/run does).
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing ends the test for a prerequisite that is absent: a failure in CI, a skip
// elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("prerequisite missing in CI: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}

// Command returns the path of a host command, or ends the test (see Missing).
func Command(t testing.TB, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed (%s)", name, why)
	}
	return path
}
