package predict

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// PredictClientNode looks a client-node version up in t, on each Kubernetes minor apart
// (see byMinor), by the rules of Predict: an exact match (the entry of that npm version,
// or of the probe label js-<version>) is the measured verdict; an unmeasured version is
// predicted only between two measured neighbours of its own major version that agree.
// Each major rewrote the HTTP layer that sends the token (httpLayers), so a version is
// never predicted from another major's measurements. Only client-node entries take part.
func PredictClientNode(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	v := "v" + strings.TrimPrefix(strings.TrimSpace(version), "v")
	if !semver.IsValid(v) {
		p.Reason = fmt.Sprintf("%s %q is not a version", find.ClientNodePackage, version)
		return p
	}
	p.measure = []string{"js-" + strings.TrimPrefix(v, "v")}
	major := semver.Major(v)
	all := t.of(true)
	return byMinor(t, true, func(t Table) Prediction {
		p := p // each minor starts from the version alone
		var measured []table.Entry
		others := false
		for _, e := range t.Entries {
			if e.Module == find.ClientNodeModule(version) || e.Label == "js-"+version {
				return measuredAs(p, e)
			}
			if e.Verdict == verdict.NotJudged || !semver.IsValid(npmVersion(e)) {
				continue
			}
			if semver.Major(npmVersion(e)) == major {
				measured = append(measured, e)
			} else {
				others = true
			}
		}
		rewrite := ""
		if others {
			rewrite = "; measurements of other major versions do not count: " + httpLayerText
		}
		if len(measured) == 0 {
			p.Reason = fmt.Sprintf("unmeasured, and no %s %s.x was measured on this minor%s", find.ClientNodePackage, strings.TrimPrefix(major, "v"), rewrite)
			return p
		}
		slices.SortStableFunc(measured, func(a, b table.Entry) int { return semver.Compare(npmVersion(a), npmVersion(b)) })
		i, _ := slices.BinarySearchFunc(measured, v, func(e table.Entry, v string) int {
			return cmp.Or(semver.Compare(npmVersion(e), v), -1) // equal versions sort below: i is the first above
		})
		p = uniformOrNot(placeBetween(p, measured, i, "npm version order of "+strings.TrimPrefix(major, "v")+".x"), p.measure, all, func(e, low, up table.Entry) bool {
			n := npmVersion(e)
			return semver.IsValid(n) && semver.Major(n) == major && semver.Compare(n, npmVersion(low)) > 0 && semver.Compare(n, npmVersion(up)) < 0
		})
		if p.Verdict == verdict.NotJudged {
			p.Reason += rewrite
		}
		return p
	})
}

// httpLayerText says why client-node majors are never neighbours: each release's
// dependencies (npm registry) name the HTTP client that sends the token.
const httpLayerText = "each major rewrote the HTTP layer that sends the token (0.x uses request, 1.x node-fetch, 2.x undici)"

// npmVersion is a client-node entry's version in semver's v-prefixed form.
func npmVersion(e table.Entry) string {
	return "v" + strings.TrimPrefix(e.Module, find.ClientNodePackage+"@")
}
