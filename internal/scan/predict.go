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
	// K8sMinor is the Kubernetes minor the prediction is for: the one the table measured,
	// or the one selected (Table.OnMinor). Empty when Minors holds one per minor.
	K8sMinor string `json:"k8sMinor,omitempty"`
	// Minors are the predictions on each Kubernetes minor when the table measured several;
	// Verdict is then the worst of them for a gate (see byMinor).
	Minors []Prediction `json:"minors,omitempty"`
}

// Lines are p's predictions one per Kubernetes minor: Minors, or p itself.
func (p Prediction) Lines() []Prediction {
	if len(p.Minors) > 0 {
		return p.Minors
	}
	return []Prediction{p}
}

// on is p's prediction on a Kubernetes minor: its line for it, else p itself.
func (p Prediction) on(minor string) Prediction {
	for _, l := range p.Minors {
		if l.K8sMinor == minor {
			return l
		}
	}
	return p
}

// where names the Kubernetes minors p gives v on, e.g. " on v1.37", for gate messages.
func (p Prediction) where(v verdict.Verdict) string {
	var on []string
	for _, l := range p.Lines() {
		if l.Verdict == v && l.K8sMinor != "" {
			on = append(on, l.K8sMinor)
		}
	}
	if len(on) == 0 {
		return ""
	}
	return " on " + strings.Join(on, ", ")
}

// gateOrder ranks verdicts as a gate's exit code does: a failure wins over not judged,
// which wins over a pass.
var gateOrder = map[verdict.Verdict]int{verdict.Reloads: 0, verdict.NotJudged: 1, verdict.Intermittent: 2, verdict.FailsAfterExpiry: 3}

// byMinor predicts with predict on each Kubernetes minor the table measured the library
// on (client-node or client-go), from that minor's entries alone — or only on the minor
// t is restricted to (OnMinor), not judged when the table measured the library on no
// cluster of it. A client can behave differently on another apiserver, so minors never
// pool their entries. Several minors give one line each (Minors) and the worst of them
// in gate order: a verdict on one minor does not vouch for another.
func byMinor(t Table, clientNode bool, version string, predict func(Table) Prediction) Prediction {
	if p, ok := t.notMeasured(clientNode, version); ok {
		return p
	}
	own := t.of(clientNode)
	on := minors(own)
	if t.only != "" {
		on = []string{t.only}
	}
	if len(on) == 0 {
		return predict(Table{}) // nothing measured: predict says why
	}
	lines := make([]Prediction, len(on))
	for i, m := range on {
		sub := Table{SchemaVersion: t.SchemaVersion, TokenMode: t.TokenMode, TTLSeconds: t.TTLSeconds}
		for _, e := range own {
			if e.K8sMinor == m {
				sub.Entries = append(sub.Entries, e)
			}
		}
		lines[i] = predict(sub)
		lines[i].K8sMinor = m
	}
	if len(lines) == 1 {
		return lines[0]
	}
	p := Prediction{Version: lines[0].Version, Verdict: verdict.Reloads, Predicted: true, Minors: lines}
	var reasons []string
	for _, l := range lines {
		if gateOrder[l.Verdict] > gateOrder[p.Verdict] {
			p.Verdict = l.Verdict
		}
		p.Predicted = p.Predicted && l.Predicted
		p.Uncertain = p.Uncertain || l.Uncertain
		p.FromSymbols = p.FromSymbols || l.FromSymbols
		for _, c := range l.Candidates {
			if !slices.Contains(p.Candidates, c) {
				p.Candidates = append(p.Candidates, c)
			}
		}
		for _, v := range l.Observed {
			if !slices.Contains(p.Observed, v) {
				p.Observed = append(p.Observed, v)
			}
		}
		p.Neighbours = append(p.Neighbours, l.Neighbours...)
		reasons = append(reasons, l.K8sMinor+": "+l.Reason)
	}
	slices.SortFunc(p.Observed, func(a, b verdict.Verdict) int { return severity[a] - severity[b] })
	p.Reason = strings.Join(reasons, "; ")
	return p
}

// of is t's entries of one library: client-node's or client-go's.
func (t Table) of(clientNode bool) []Entry {
	var own []Entry
	for _, e := range t.Entries {
		if e.IsClientNode() == clientNode {
			own = append(own, e)
		}
	}
	return own
}

// notMeasured is the prediction when t is restricted to a minor (OnMinor) the table
// measured the library on no cluster of: not judged, naming the minors it was measured on.
func (t Table) notMeasured(clientNode bool, version string) (Prediction, bool) {
	on := minors(t.of(clientNode))
	if t.only == "" || slices.Contains(on, t.only) {
		return Prediction{}, false
	}
	library, measuredOn := ClientGoPath, "no Kubernetes version"
	if clientNode {
		library = ClientNodePackage
	}
	if len(on) > 0 {
		measuredOn = strings.Join(on, ", ")
	}
	return Prediction{Version: version, Verdict: verdict.NotJudged, K8sMinor: t.only,
		Reason: fmt.Sprintf("not measured on %s: the table measured %s on %s", t.only, library, measuredOn)}, true
}

// Predict looks version up in t, on each Kubernetes minor apart (see byMinor): an exact
// match is the measured verdict; otherwise the worse verdict of its nearest measured
// neighbours (a gate must not pass a version that may behave like the failing one). Tags
// are placed by the Kubernetes release they belong to, date-only pseudo-versions by date
// against entries with a module time. NOT_JUDGED entries say nothing about a client, so
// they are never neighbours.
func Predict(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	q := normalize(version)
	if q == "" {
		p.Reason = "no client-go version (replaced by a local directory?)"
		return p
	}
	ax, placeable := axisOf(q)
	if !placeable && !slices.ContainsFunc(t.Entries, func(e Entry) bool { return !e.IsClientNode() && e.is(q) }) {
		p.Reason = fmt.Sprintf("%s is neither a client-go release tag nor a pseudo-version", version)
		return p
	}
	return byMinor(t, false, version, func(t Table) Prediction {
		p := p // each minor starts from the version alone
		for _, e := range t.Entries {
			if e.is(q) {
				return measuredAs(p, e)
			}
		}
		if !placeable {
			p.Reason = fmt.Sprintf("%s is neither a client-go release tag nor a pseudo-version, and was not measured on this minor", version)
			return p
		}
		var measured []Entry
		for _, e := range t.Entries {
			if _, ok := ax.of(e); ok && e.Verdict != verdict.NotJudged {
				measured = append(measured, e)
			}
		}
		if len(measured) == 0 {
			p.Reason = fmt.Sprintf("no measured entry with a RELOADS/FAILS/INTERMITTENT verdict can be placed on the %s", ax.name)
			return p
		}
		at := func(e Entry) int64 { pos, _ := ax.of(e); return pos }
		slices.SortStableFunc(measured, func(a, b Entry) int { return cmp.Compare(at(a), at(b)) })
		i, _ := slices.BinarySearchFunc(measured, ax.at+1, func(e Entry, pos int64) int { return cmp.Compare(at(e), pos) })
		return placeBetween(p, measured, i, ax.name)
	})
}

// is reports whether e measured client-go version q (normalized) itself.
func (e Entry) is(q string) bool { return normalize(e.Module) == q || normalize(e.Label) == q }

// axis places client-go versions: tags and the pseudo-versions derived from them by the
// Kubernetes release they belong to, date-only pseudo-versions by date.
type axis struct {
	name string
	at   int64                     // the version's position
	of   func(Entry) (int64, bool) // an entry's position, when it has one
}

func axisOf(q string) (axis, bool) {
	if r, ok := releaseOf(q); ok {
		return axis{fmt.Sprintf("Kubernetes release axis (1.%d.%d)", r.minor, r.patch), r.key(), func(e Entry) (int64, bool) {
			er, ok := e.release()
			return er.key(), ok
		}}, true
	}
	if ts, err := module.PseudoVersionTime(q); err == nil {
		return axis{"date axis (" + ts.Format("2006-01-02") + ")", ts.Unix(), func(e Entry) (int64, bool) {
			if e.ModuleTime == nil {
				return 0, false
			}
			return e.ModuleTime.Unix(), true
		}}, true
	}
	return axis{}, false
}

// measuredAs is the prediction of a version measured itself: entry e's verdict, counts
// and date.
func measuredAs(p Prediction, e Entry) Prediction {
	p.Verdict, p.Neighbours, p.Observed = e.Verdict, []Entry{e}, e.Observed
	p.Reason = fmt.Sprintf("measured %s on Kubernetes %s (token ttl %ds, %d run(s)%s, latest %s)",
		e.Name(), e.K8sVersion, e.TTLSeconds, e.Runs, countsText(e), e.MeasuredAt.Format("2006-01-02"))
	if len(e.Observed) > 1 {
		p.Reason += fmt.Sprintf("; runs measured %v, the worst is given", e.Observed)
	}
	return p
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
// it links, each judged by Predict on each Kubernetes minor apart (see byMinor). A verdict
// they share is the prediction; candidates that disagree, no candidate, or one without a
// verdict leave the binary NOT_JUDGED (the names cannot say which candidate it is, so no
// verdict may be claimed). The reason names the candidates, never one version: versions
// with the same functions cannot be told apart.
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
	return byMinor(t, false, "", func(t Table) Prediction {
		p := p // each minor starts from the candidates alone
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
		p.Reason = fmt.Sprintf("from symbols: its %d fingerprinted client-go functions are all declared by %d of %s, the candidates: %s",
			evidence, len(cands), known, strings.Join(verdicts, ", "))
		if disagree {
			worst := p.Verdict
			p.Verdict, p.Uncertain = verdict.NotJudged, true
			p.Reason += fmt.Sprintf("; the candidates disagree and function names cannot tell them apart: not judged (the worst candidate is %s); rebuild with modules (go build records the client-go version) or scan a build with module info", worst)
		}
		return p
	})
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
	if p, ok := t.notMeasured(false, f.ClientGoVersion()); ok {
		f.Prediction = &p // function names cannot be judged there either
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
		// Each line says first why the version alone gave no verdict on its minor.
		sp.Version, sp.Reason = p.Version, p.Reason+"; "+sp.Reason
		for i := range sp.Minors {
			l := &sp.Minors[i]
			l.Version, l.Reason = p.Version, p.on(l.K8sMinor).Reason+"; "+l.Reason
		}
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
