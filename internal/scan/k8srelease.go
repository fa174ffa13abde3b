package scan

import "fmt"

// ClientGoK8sRelease is the Kubernetes minor ("1.16") a client-go version belongs to by
// its own version (see releaseOf), or "" when the version does not say: a date-only
// pseudo-version (v0.0.0-…) carries no release.
func ClientGoK8sRelease(version string) string {
	r, ok := releaseOf(version)
	if !ok {
		return ""
	}
	return fmt.Sprintf("1.%d", r.minor)
}
