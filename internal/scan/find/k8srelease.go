package find

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// ClientGoK8sRelease is the Kubernetes minor ("1.16") a client-go version belongs to by
// its own version (see ReleaseOf), or "" when the version does not say: a date-only
// pseudo-version (v0.0.0-…) carries no release.
func ClientGoK8sRelease(version string) string {
	r, ok := ReleaseOf(version)
	if !ok {
		return ""
	}
	return fmt.Sprintf("1.%d", r.Minor)
}

// NormalizeVersion makes "0.15.7", "v12.0.0" and "v12.0.0+incompatible" comparable.
func NormalizeVersion(v string) string {
	v = strings.TrimSuffix(strings.TrimSpace(v), "+incompatible")
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}

// Release is a position on the Kubernetes release axis: Kubernetes 1.Minor.Patch.
type Release struct {
	Minor, Patch int
	stage        int // 0 pre-release, 1 the release, 2 a pseudo-version after it
}

// Key orders releases: by minor, patch, then pre-release < release < pseudo-version.
func (r Release) Key() int64 { return int64(r.Minor)<<32 | int64(r.Patch)<<8 | int64(r.stage) }

// ReleaseOf maps a client-go version to its Kubernetes release: vN.x.y (N = 2..12) is
// Kubernetes 1.(N+3), v0.X.Y (X >= 15) is 1.X.Y; a pseudo-version sits just after the tag
// it derives from. Date-only pseudo-versions (v0.0.0-…) have no place here.
func ReleaseOf(v string) (Release, bool) {
	v = NormalizeVersion(v)
	if !semver.IsValid(v) {
		return Release{}, false
	}
	stage := 1
	if module.IsPseudoVersion(v) {
		base, err := module.PseudoVersionBase(v)
		if err != nil || base == "" {
			return Release{}, false
		}
		v, stage = base, 2
	}
	if semver.Prerelease(v) != "" {
		stage = 0
	}
	major, minor, patch := numbers(v)
	switch {
	case major == 0 && minor >= 15:
		return Release{minor, patch, stage}, true
	case major >= 2 && major <= 12 && minor == 0:
		return Release{major + 3, patch, stage}, true
	}
	return Release{}, false
}

// KubernetesRelease places a Kubernetes version ("1.16.3", "v1.16") on the release axis.
func KubernetesRelease(version string) (Release, bool) {
	k := NormalizeVersion(version)
	if !semver.IsValid(k) || semver.Major(k) != "v1" {
		return Release{}, false
	}
	_, minor, patch := numbers(k)
	return Release{minor, patch, 1}, true
}

// numbers splits a valid semantic version (shorthands like v1.15 included).
func numbers(v string) (major, minor, patch int) {
	c := semver.Canonical(v)
	nums := strings.Split(strings.TrimPrefix(strings.TrimSuffix(c, semver.Prerelease(c)), "v"), ".")
	major, _ = strconv.Atoi(nums[0])
	minor, _ = strconv.Atoi(nums[1])
	patch, _ = strconv.Atoi(nums[2])
	return major, minor, patch
}
