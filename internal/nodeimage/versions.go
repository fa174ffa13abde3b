package nodeimage

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultKubernetesVersion runs on Debian's containerd 1.6 and on cgroup v1 and v2 hosts
// (see docs/node-image.md); it is what CI pins, and every command's default (DefaultVersion).
const DefaultKubernetesVersion = "v1.34.4"

// From this minor on the node runs containerd 2 built from its Go module instead of
// Debian's containerd 1.6: upstream supports Kubernetes 1.36+ only with containerd 2, and
// kind v0.33 ships 2.3.4. (Measured here: kubelet 1.35.8 and 1.37.2 also start on 1.6, but
// log "CRI implementation should be updated to support RuntimeConfig. Falling back to
// using cgroupDriver from kubelet config."; the fallback is announced to go in 1.38.)
const containerd2FromMinor = 36

// builtContainerdVersion is the containerd kind v0.33.0 puts in its own node images.
const builtContainerdVersion = "v2.3.4"

// cgroupV1StrictFromMinor: kubelet >= 1.35 refuses to start on cgroup v1 unless its
// KubeletConfiguration sets failCgroupV1: false (the field exists since 1.31).
const cgroupV1StrictFromMinor = 35

// minorOf returns MINOR of v1.MINOR.PATCH, or -1 when v is not of that form.
func minorOf(v string) int {
	var minor, patch int
	if _, err := fmt.Sscanf(v, "v1.%d.%d", &minor, &patch); err != nil {
		return -1
	}
	return minor
}

// containerdFor is the containerd version built for a Kubernetes version's node image,
// or "" when Debian's containerd package serves (and the image inputs stay as before).
func containerdFor(k8s string) string {
	if minorOf(k8s) >= containerd2FromMinor {
		return builtContainerdVersion
	}
	return ""
}

// NeedsCgroupV1Override reports whether a kubelet of version k8s (any v1.MINOR... form,
// e.g. a node image tag's version) must be told failCgroupV1: false to start on a
// cgroup v1 host.
func NeedsCgroupV1Override(k8s string) bool {
	return minorOf(k8s) >= cgroupV1StrictFromMinor
}

// crictlCandidates are the cri-tools releases to try for a Kubernetes minor, best first:
// the matching v1.MINOR.0, then older minors (crictl only talks CRI v1, stable since
// 1.26; the module proxy does not serve every cri-tools release, e.g. no v1.35.x).
// Below 1.34 (the proxy serves no v1.31.0-v1.33.0) v1.34.0: crictl talks to containerd,
// and v1.34.0 talks to the same Debian containerd 1.6 in the 1.34 and 1.35 images.
func crictlCandidates(k8s string) []string {
	var out []string
	minor := minorOf(k8s)
	for m := minor; m >= 34 && len(out) < 4; m-- {
		out = append(out, fmt.Sprintf("v1.%d.0", m))
	}
	if minor >= 0 && minor < 34 {
		out = append(out, fmt.Sprintf("v1.%d.0", minor), "v1.34.0")
	}
	return out
}

// verifiedVersion is a Kubernetes version whose full `satoken run` (v8.0.0 fails after
// expiry and recovers on restart, v0.37.2 reloads) passed with an offline node image on a
// host of the given cgroup mode.
type verifiedVersion struct {
	Version  string
	CgroupV1 bool
	CgroupV2 bool
}

// verified lists, newest first, what was measured (docs/node-image.md, "Supported
// Kubernetes versions").
// v1.35.8, v1.36.5, v1.37.2: full runs passed 2026-11-28 on a cgroup v1 (hybrid) host
// with failCgroupV1: false (containerd 2.3.4 from 1.36); not yet run on a cgroup v2 host.
// v1.32.9, v1.33.13: full runs passed 2026-11-28 on the same cgroup v1 host (Debian
// containerd 1.6, crictl v1.34.0); v1.33.7 and v1.32.13 do not build here (staging
// v0.MINOR.PATCH modules the proxy does not serve).
var verified = []verifiedVersion{
	{Version: "v1.37.2", CgroupV1: true},
	{Version: "v1.36.5", CgroupV1: true},
	{Version: "v1.35.8", CgroupV1: true},
	{Version: DefaultKubernetesVersion, CgroupV1: true, CgroupV2: true},
	{Version: "v1.33.13", CgroupV1: true},
	{Version: "v1.32.9", CgroupV1: true},
}

// DefaultVersion chooses the Kubernetes version to build when none is given: the one the
// e2e suite pins, verified on cgroup v1 and v2 hosts, so the README's two commands (make
// run, make test) share one node image. logf receives one line saying which and why.
func DefaultVersion(logf func(format string, args ...any)) string {
	if logf != nil {
		logf("Kubernetes %s: the default (verified on cgroup v1 and v2 hosts, and the e2e suite's); --k8s chooses another (satoken image versions lists those verified here)", DefaultKubernetesVersion)
	}
	return DefaultKubernetesVersion
}

// SupportedVersionsHelp lists the verified versions for flag help.
func SupportedVersionsHelp() string {
	var vs []string
	for _, v := range verified {
		vs = append(vs, v.Version)
	}
	return strings.Join(vs, ", ")
}

// VerifiedVersions are the versions verified on this host's cgroup mode, oldest first
// (the order a matrix runs and reports them in).
func VerifiedVersions() ([]string, error) {
	v2, err := HostCgroupV2()
	if err != nil {
		return nil, fmt.Errorf("cannot tell which versions run here: %w", err)
	}
	var out []string
	for _, v := range slices.Backward(verified) {
		if (v2 && v.CgroupV2) || (!v2 && v.CgroupV1) {
			out = append(out, v.Version)
		}
	}
	return out, nil
}
