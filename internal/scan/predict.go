package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Prediction is the verdict expected for one client-go version.
type Prediction struct {
	Version   string          `json:"version"`   // "" when placed by function names
	Verdict   verdict.Verdict `json:"verdict"`   // NOT_JUDGED when the version cannot be placed
	Predicted bool            `json:"predicted"` // false: this version itself was measured
	Uncertain bool            `json:"uncertain,omitempty"`
	// FromSymbols: placed by function names (see PredictFromSymbols); Candidates are the
	// fingerprinted versions they fit.
	FromSymbols bool     `json:"fromSymbols,omitempty"`
	Candidates  []string `json:"candidates,omitempty"`
	// Observed is every verdict measured for an exact match (see Entry.Observed).
	Observed []verdict.Verdict `json:"observed,omitempty"`
	// Neighbours are the measured entries the verdict comes from: the exact match, or the
	// nearest measured versions below and/or above.
	Neighbours []Entry `json:"neighbours,omitempty"`
	Reason     string  `json:"reason"`
}

// Predict looks version up in t: an exact match is the measured verdict; otherwise the
// worse verdict of its nearest measured neighbours (a gate must not pass a version that
// may behave like the failing one). Tags are placed by the Kubernetes release they belong
// to, date-only pseudo-versions by date against entries with a module time. NOT_JUDGED
// entries say nothing about a client, so they are never neighbours.
func Predict(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	q := normalize(version)
	if q == "" {
		p.Reason = "no client-go version (replaced by a local directory?)"
		return p
	}
	for _, e := range t.Entries {
		if e.IsClientNode() {
			continue // see PredictClientNode
		}
		if normalize(e.Module) == q || normalize(e.Label) == q {
			p.Verdict, p.Neighbours, p.Observed = e.Verdict, []Entry{e}, e.Observed
			p.Reason = fmt.Sprintf("measured %s on Kubernetes %s (token ttl %ds, %d run(s)%s, latest %s)",
				e.Name(), e.K8sVersion, e.TTLSeconds, e.Runs, countsText(e), e.MeasuredAt.Format("2006-01-02"))
			if len(e.Observed) > 1 {
				p.Reason += fmt.Sprintf("; runs measured %v, the worst is given", e.Observed)
			}
			return p
		}
	}

	type point struct {
		at int64
		e  Entry
	}
	var points []point
	var at int64
	var axis string
	if r, ok := releaseOf(q); ok {
		at, axis = r.key(), fmt.Sprintf("Kubernetes release axis (1.%d.%d)", r.minor, r.patch)
		for _, e := range t.Entries {
			if er, ok := e.release(); ok && e.Verdict != verdict.NotJudged {
				points = append(points, point{er.key(), e})
			}
		}
	} else if ts, err := module.PseudoVersionTime(q); err == nil {
		at, axis = ts.Unix(), "date axis ("+ts.Format("2006-01-02")+")"
		for _, e := range t.Entries {
			if e.ModuleTime != nil && e.Verdict != verdict.NotJudged {
				points = append(points, point{e.ModuleTime.Unix(), e})
			}
		}
	} else {
		p.Reason = fmt.Sprintf("%s is neither a client-go release tag nor a pseudo-version", version)
		return p
	}
	if len(points) == 0 {
		p.Reason = fmt.Sprintf("no measured entry with a RELOADS/FAILS/INTERMITTENT verdict can be placed on the %s", axis)
		return p
	}
	slices.SortStableFunc(points, func(a, b point) int { return cmp.Compare(a.at, b.at) })
	i, _ := slices.BinarySearchFunc(points, at+1, func(p point, at int64) int { return cmp.Compare(p.at, at) })
	sorted := make([]Entry, len(points))
	for j, pt := range points {
		sorted[j] = pt.e
	}
	return placeBetween(p, sorted, i, axis)
}

// placeBetween predicts from the measured entries (sorted on axis) around position i,
// where the unmeasured version falls: the nearest neighbour at either end, the worse of
// the two neighbours in between (uncertain when they disagree).
func placeBetween(p Prediction, measured []Entry, i int, axis string) Prediction {
	p.Predicted = true
	switch {
	case i == 0:
		up := measured[0]
		p.Verdict, p.Neighbours = up.Verdict, []Entry{up}
		p.Reason = fmt.Sprintf("unmeasured, older than every measured version on the %s; nearest is %s: %s", axis, up.Name(), up.Verdict)
	case i == len(measured):
		low := measured[i-1]
		p.Verdict, p.Neighbours = low.Verdict, []Entry{low}
		p.Reason = fmt.Sprintf("unmeasured, newer than every measured version on the %s; nearest is %s: %s", axis, low.Name(), low.Verdict)
	default:
		low, up := measured[i-1], measured[i]
		p.Verdict, p.Neighbours = worse(low.Verdict, up.Verdict), []Entry{low, up}
		if low.Verdict == up.Verdict {
			p.Reason = fmt.Sprintf("unmeasured, between %s and %s on the %s, both %s", low.Name(), up.Name(), axis, low.Verdict)
		} else {
			p.Uncertain = true
			p.Reason = fmt.Sprintf("unmeasured, between %s (%s) and %s (%s) on the %s: the neighbours disagree, taking the worse",
				low.Name(), low.Verdict, up.Name(), up.Verdict, axis)
		}
	}
	return p
}

func worse(a, b verdict.Verdict) verdict.Verdict {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// countsText shows an entry's verdict counts, e.g. ": RELOADS ×5, INTERMITTENT ×1", and
// the runs merged before counts were kept.
func countsText(e Entry) string {
	var parts []string
	for _, v := range []verdict.Verdict{verdict.Reloads, verdict.Intermittent, verdict.FailsAfterExpiry, verdict.NotJudged} {
		n := e.Counts[v]
		if v == verdict.NotJudged {
			n = e.NotJudged
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", v, n))
		}
	}
	if e.LegacyRuns > 0 {
		parts = append(parts, fmt.Sprintf("%d uncounted (merged before table schema 2)", e.LegacyRuns))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// PredictFromSymbols places a binary by its client-go function names (vendor prefix cut):
// the candidates are the fingerprinted versions that declare every fingerprinted function
// it links, each judged by Predict. A verdict they share is the prediction; candidates
// that disagree, no candidate, or one without a verdict leave the binary NOT_JUDGED (the
// names cannot say which candidate it is, so no verdict may be claimed). The reason names the candidates, never one version: versions with
// the same functions cannot be told apart.
func PredictFromSymbols(t Table, fp Fingerprints, funcs []string) Prediction {
	p := Prediction{Verdict: verdict.NotJudged, Predicted: true, FromSymbols: true}
	cands, evidence := fp.Match(funcs)
	if len(fp.Versions) == 0 {
		p.Reason = "no fingerprints to place its version by function names"
		return p
	}
	known := fmt.Sprintf("the %d fingerprinted versions (%s … %s)", len(fp.Versions), fp.Versions[0].Label, fp.Versions[len(fp.Versions)-1].Label)
	switch {
	case evidence == 0:
		p.Reason = fmt.Sprintf("none of its %d client-go functions is fingerprinted (%s): its version cannot be placed",
			len(funcs), strings.Join(fp.Packages, ", "))
		return p
	case len(cands) == 0:
		p.Reason = fmt.Sprintf("none of %s declares all its %d fingerprinted client-go functions: an unmeasured version or a modified client-go",
			known, evidence)
		return p
	}
	for _, c := range cands {
		p.Candidates = append(p.Candidates, c.Label)
	}
	var verdicts []string
	disagree := false
	for _, c := range cands {
		cp := Predict(t, c.Module)
		if cp.Verdict == verdict.NotJudged {
			p.Verdict, p.Neighbours = verdict.NotJudged, nil
			p.Reason = fmt.Sprintf("its functions fit %s, and %s has no verdict: %s", strings.Join(p.Candidates, ", "), c.Label, cp.Reason)
			return p
		}
		for _, e := range cp.Neighbours {
			if !slices.ContainsFunc(p.Neighbours, func(n Entry) bool { return n.Module == e.Module }) {
				p.Neighbours = append(p.Neighbours, e)
			}
		}
		text := fmt.Sprintf("%s %s", c.Label, cp.Verdict)
		if cp.Predicted {
			text += " (unmeasured: " + cp.Reason + ")"
		}
		verdicts = append(verdicts, text)
		if len(verdicts) == 1 {
			p.Verdict = cp.Verdict
		}
		disagree = disagree || cp.Verdict != p.Verdict
		p.Verdict = worse(p.Verdict, cp.Verdict)
		p.Uncertain = p.Uncertain || cp.Uncertain
	}
	fit := fmt.Sprintf("from symbols: its %d fingerprinted client-go functions are all declared by %d of %s, the candidates: %s",
		evidence, len(cands), known, strings.Join(verdicts, ", "))
	p.Reason = fit
	if disagree {
		worst := p.Verdict
		p.Verdict, p.Uncertain = verdict.NotJudged, true
		p.Reason += fmt.Sprintf("; the candidates disagree and function names cannot tell them apart: not judged (the worst candidate is %s); rebuild with modules (go build records the client-go version) or scan a build with module info", worst)
	}
	return p
}

// Judge sets f.Prediction: from the build info's client-go version when the table can
// place it, otherwise (GOPATH builds, local replaces, unparsable versions) from the
// function names against fp; a client-node package from its version (PredictClientNode).
// A finding without a client gets none.
func (f *Finding) Judge(t Table, fp Fingerprints) {
	if f.ClientGo == nil {
		return
	}
	if f.IsClientNode() {
		p := PredictClientNode(t, f.ClientGo.Version)
		f.Prediction = &p
		return
	}
	var p Prediction
	if f.ClientGoBy == FromBuildInfo {
		p = Predict(t, f.ClientGoVersion())
		if p.Verdict != verdict.NotJudged || len(f.funcs) == 0 {
			f.Prediction = &p
			return
		}
	}
	sp := PredictFromSymbols(t, fp, f.funcs)
	if p.Reason != "" {
		sp.Version, sp.Reason = p.Version, p.Reason+"; "+sp.Reason
	}
	f.Prediction = &sp
}

// normalize makes "0.15.7", "v12.0.0" and "v12.0.0+incompatible" comparable.
func normalize(v string) string {
	v = strings.TrimSuffix(strings.TrimSpace(v), "+incompatible")
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}

// release is a position on the Kubernetes release axis.
type release struct {
	minor, patch int
	stage        int // 0 pre-release, 1 the release, 2 a pseudo-version after it
}

func (r release) key() int64 { return int64(r.minor)<<32 | int64(r.patch)<<8 | int64(r.stage) }

// releaseOf maps a client-go version to its Kubernetes release: vN.x.y (N = 2..12) is
// Kubernetes 1.(N+3), v0.X.Y (X >= 15) is 1.X.Y; a pseudo-version sits just after the tag
// it derives from. Date-only pseudo-versions (v0.0.0-…) have no place here.
func releaseOf(v string) (release, bool) {
	v = normalize(v)
	if !semver.IsValid(v) {
		return release{}, false
	}
	stage := 1
	if module.IsPseudoVersion(v) {
		base, err := module.PseudoVersionBase(v)
		if err != nil || base == "" {
			return release{}, false
		}
		v, stage = base, 2
	}
	if semver.Prerelease(v) != "" {
		stage = 0
	}
	major, minor, patch := numbers(v)
	switch {
	case major == 0 && minor >= 15:
		return release{minor, patch, stage}, true
	case major >= 2 && major <= 12 && minor == 0:
		return release{major + 3, patch, stage}, true
	}
	return release{}, false
}

// release places a table entry: by its module, else its label, else its k8sRelease.
func (e Entry) release() (release, bool) {
	for _, v := range []string{e.Module, e.Label} {
		if r, ok := releaseOf(v); ok {
			return r, true
		}
	}
	k := normalize(e.K8sRelease)
	if !semver.IsValid(k) || semver.Major(k) != "v1" {
		return release{}, false
	}
	_, minor, patch := numbers(k)
	return release{minor, patch, 1}, true
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
