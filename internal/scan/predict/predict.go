// Package predict judges what internal/scan/find found from the measured verdict table
// (internal/scan/table): a client version measured on a Kubernetes minor is its measured
// verdict there, an unmeasured one is predicted only between measured neighbours that
// agree, and a binary without a placeable version is placed by its client-go function
// names against fingerprints of the probe matrix. The gate of `satoken scan` decides on the
// predictions, and Measurements are the runs that would judge what is not judged.
package predict

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/module"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Prediction is the verdict expected for one client version.
type Prediction struct {
	Version   string          `json:"version"`   // "" when placed by function names
	Verdict   verdict.Verdict `json:"verdict"`   // NOT_JUDGED when no measurement decides
	Predicted bool            `json:"predicted"` // false: this version itself was measured
	// FromSymbols: placed by function names (see PredictFromSymbols); Candidates are the
	// fingerprinted versions they fit.
	FromSymbols bool     `json:"fromSymbols,omitempty"`
	Candidates  []string `json:"candidates,omitempty"`
	// Observed is every verdict measured for an exact match (see table.Entry.Observed).
	Observed []verdict.Verdict `json:"observed,omitempty"`
	// Neighbours are the measured entries the verdict comes from: the exact match, or the
	// nearest measured versions below and/or above.
	Neighbours []table.Entry `json:"neighbours,omitempty"`
	Reason     string        `json:"reason"`
	// Measure is the command that measures the client on K8sMinor, when it is not judged
	// there and a run of it would judge it.
	Measure string `json:"measure,omitempty"`
	// MeasuredBy is the report of the `scan --measure` run that measured this line.
	MeasuredBy string `json:"measuredBy,omitempty"`
	// K8sMinor is the Kubernetes minor the prediction is for. Empty when Minors holds one
	// line per minor.
	K8sMinor string `json:"k8sMinor,omitempty"`
	// Context marks a minor's line shown beside the gate's decision: it does not decide.
	Context bool `json:"context,omitempty"`
	// DecidedOn are the minors whose lines decide Verdict (see Table.decide).
	DecidedOn []string `json:"decidedOn,omitempty"`
	// Minors are the predictions on each Kubernetes minor when there are several.
	Minors []Prediction `json:"minors,omitempty"`

	// measure are the labels `satoken run --versions` takes that would judge the client
	// on this minor; byMinor turns them into measurement and Measure.
	measure     []string
	measurement *Measurement
}

// Lines are p's predictions one per Kubernetes minor: Minors, or p itself.
func (p Prediction) Lines() []Prediction {
	if len(p.Minors) > 0 {
		return p.Minors
	}
	return []Prediction{p}
}

// lineRefs are p's lines, to change in place.
func (p *Prediction) lineRefs() []*Prediction {
	if len(p.Minors) == 0 {
		return []*Prediction{p}
	}
	refs := make([]*Prediction, len(p.Minors))
	for i := range p.Minors {
		refs[i] = &p.Minors[i]
	}
	return refs
}

// deciding are p's lines the gate decides on.
func (p Prediction) deciding() []Prediction {
	var out []Prediction
	for _, l := range p.Lines() {
		if !l.Context {
			out = append(out, l)
		}
	}
	return out
}

// where names the deciding minors p gives v on, e.g. " on v1.37", for gate messages.
func (p Prediction) where(v verdict.Verdict) string {
	var on []string
	for _, l := range p.deciding() {
		if l.Verdict == v && l.K8sMinor != "" {
			on = append(on, l.K8sMinor)
		}
	}
	if len(on) == 0 {
		return ""
	}
	return " on " + strings.Join(on, ", ")
}

// Predict looks version up in t, on each Kubernetes minor apart (see byMinor): an exact
// match is the measured verdict; an unmeasured version strictly between two measured
// neighbours that agree is predicted to do the same; anything else — neighbours that
// disagree, a version older or newer than every one measured on that minor — is not
// judged, with the command that measures it: a prediction rests on measurements around
// it, never on the worse of two that disagree nor on one beyond the measured range. Tags
// are placed by the Kubernetes release they belong to, date-only pseudo-versions by date
// against entries with a module time. NOT_JUDGED entries say nothing about a client, so
// they are never neighbours.
func Predict(t Table, version string) Prediction {
	p := Prediction{Version: version, Verdict: verdict.NotJudged}
	q := find.NormalizeVersion(version)
	if q == "" {
		p.Reason = "no client-go version (replaced by a local directory?)"
		return p
	}
	ax, placeable := axisOf(q)
	label, measured := t.labelOf(q)
	if !placeable && !measured {
		p.Reason = fmt.Sprintf("%s is neither a client-go release tag nor a pseudo-version", version)
		return p
	}
	p.measure = []string{label}
	all := t.of(false)
	return byMinor(t, false, func(t Table) Prediction {
		p := p // each minor starts from the version alone
		for _, e := range t.Entries {
			if measures(e, q) {
				return measuredAs(p, e)
			}
		}
		if !placeable {
			p.Reason = fmt.Sprintf("%s is neither a client-go release tag nor a pseudo-version, and was not measured on this minor", version)
			return p
		}
		var measured []table.Entry
		for _, e := range t.Entries {
			if _, ok := ax.of(e); ok && e.Verdict != verdict.NotJudged {
				measured = append(measured, e)
			}
		}
		if len(measured) == 0 {
			p.Reason = fmt.Sprintf("unmeasured, and no version measured on this minor with a RELOADS/FAILS/INTERMITTENT verdict can be placed on the %s", ax.name)
			return p
		}
		at := func(e table.Entry) int64 { pos, _ := ax.of(e); return pos }
		slices.SortStableFunc(measured, func(a, b table.Entry) int { return cmp.Compare(at(a), at(b)) })
		i, _ := slices.BinarySearchFunc(measured, ax.at+1, func(e table.Entry, pos int64) int { return cmp.Compare(at(e), pos) })
		return uniformOrNot(placeBetween(p, measured, i, ax.name), p.measure, all, func(e, low, up table.Entry) bool {
			pos, ok := ax.of(e)
			return ok && pos > at(low) && pos < at(up)
		})
	})
}

// labelOf is how `satoken run --versions` names client-go version q (normalized): the
// label of the table's entry of it when one was measured on any minor, else the version
// itself (normalized: without +incompatible, as the matrix labels tags).
func (t Table) labelOf(q string) (label string, measured bool) {
	for _, e := range t.of(false) {
		if measures(e, q) {
			return e.Label, true
		}
	}
	return q, false
}

// measures reports whether e measured client-go version q (normalized) itself.
func measures(e table.Entry, q string) bool {
	return find.NormalizeVersion(e.Module) == q || find.NormalizeVersion(e.Label) == q
}

// axis places client-go versions: tags and the pseudo-versions derived from them by the
// Kubernetes release they belong to, date-only pseudo-versions by date.
type axis struct {
	name string
	at   int64                           // the version's position
	of   func(table.Entry) (int64, bool) // an entry's position, when it has one
}

func axisOf(q string) (axis, bool) {
	if r, ok := find.ReleaseOf(q); ok {
		return axis{fmt.Sprintf("Kubernetes release axis (1.%d.%d)", r.Minor, r.Patch), r.Key(), func(e table.Entry) (int64, bool) {
			er, ok := entryRelease(e)
			return er.Key(), ok
		}}, true
	}
	if ts, err := module.PseudoVersionTime(q); err == nil {
		return axis{"date axis (" + ts.Format("2006-01-02") + ")", ts.Unix(), func(e table.Entry) (int64, bool) {
			if e.ModuleTime == nil {
				return 0, false
			}
			return e.ModuleTime.Unix(), true
		}}, true
	}
	return axis{}, false
}

// measuredAs is the prediction of a version measured itself: entry e's verdict, counts
// and date. An entry whose runs all drew no verdict is measured again by its command.
func measuredAs(p Prediction, e table.Entry) Prediction {
	p.Verdict, p.Neighbours, p.Observed = e.Verdict, []table.Entry{e}, e.Observed
	if e.Verdict != verdict.NotJudged {
		p.measure = nil
	}
	p.Reason = fmt.Sprintf("measured %s on Kubernetes %s (token ttl %ds, %d run(s)%s, latest %s)",
		e.Name(), e.K8sVersion, e.TTLSeconds, e.Runs, countsText(e), e.MeasuredAt.Format("2006-01-02"))
	if len(e.Observed) > 1 {
		p.Reason += fmt.Sprintf("; runs measured %v, the worst is given", e.Observed)
	}
	return p
}

// placeBetween predicts from the measured entries (sorted on axis) around position i,
// where the unmeasured version falls: the verdict of the two neighbours when they agree;
// not judged when they disagree or when one is missing (the version is older or newer
// than every one measured): nothing measured says how it behaves.
func placeBetween(p Prediction, measured []table.Entry, i int, axis string) Prediction {
	p.Predicted = true
	switch {
	case i == 0:
		oldest := measured[0]
		p.Neighbours = []table.Entry{oldest}
		p.Reason = fmt.Sprintf("unmeasured, older than every version measured on this minor on the %s (the oldest is %s, %s): not predicted beyond the measured range",
			axis, oldest.Name(), oldest.Verdict)
	case i == len(measured):
		newest := measured[i-1]
		p.Neighbours = []table.Entry{newest}
		p.Reason = fmt.Sprintf("unmeasured, newer than every version measured on this minor on the %s (the newest is %s, %s): not predicted beyond the measured range",
			axis, newest.Name(), newest.Verdict)
	default:
		low, up := measured[i-1], measured[i]
		p.Neighbours = []table.Entry{low, up}
		if low.Verdict == up.Verdict {
			p.Verdict, p.measure = low.Verdict, nil
			p.Reason = fmt.Sprintf("predicted, unmeasured, between %s and %s on the %s, both %s", low.Name(), up.Name(), axis, low.Verdict)
			return p
		}
		p.Reason = fmt.Sprintf("unmeasured, between %s (%s) and %s (%s) on the %s: the neighbours disagree, so neither is predicted",
			low.Name(), low.Verdict, up.Name(), up.Verdict, axis)
	}
	return p
}

// uniformOrNot withholds a prediction drawn from agreeing neighbours when a version
// between the same two (inside) was measured with another verdict on any Kubernetes minor:
// the behaviour changes inside the bracket, so agreement at its ends says nothing of the
// middle (client-go v9.0.0 and v10.0.0 re-read on a timer, between v8.0.0 and v11.0.0,
// which read once). Another minor's measurement only ever withholds, never predicts.
// measure is the command's versions placeBetween dropped when it predicted.
func uniformOrNot(p Prediction, measure []string, all []table.Entry, inside func(e, low, up table.Entry) bool) Prediction {
	if !p.Predicted || p.Verdict == verdict.NotJudged || len(p.Neighbours) != 2 {
		return p
	}
	low, up := p.Neighbours[0], p.Neighbours[1]
	for _, e := range all {
		if e.Verdict != verdict.NotJudged && e.Verdict != p.Verdict && inside(e, low, up) {
			p.Reason = fmt.Sprintf("unmeasured; its neighbours %s and %s are both %s, but %s, between them, measured %s on Kubernetes %s: the behaviour changes between them, so neither is predicted",
				low.Name(), up.Name(), p.Verdict, e.Name(), e.Verdict, e.K8sVersion)
			p.Verdict, p.measure = verdict.NotJudged, measure
			return p
		}
	}
	return p
}

// countsText shows an entry's verdict counts, e.g. ": RELOADS ×5, INTERMITTENT ×1", and
// the runs merged before counts were kept.
func countsText(e table.Entry) string {
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
// it links, each judged by Predict on each Kubernetes minor apart (see byMinor). On a
// minor, a verdict they all share is the prediction; a candidate not judged there leaves
// the minor not judged (measuring the candidates would judge it), and candidates that
// disagree leave it not judged (the names cannot say which candidate it is, so no verdict
// may be claimed). The reason names the candidates, never one version: versions with the
// same functions cannot be told apart.
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
	return byMinor(t, false, func(t Table) Prediction {
		p := p // each minor starts from the candidates alone
		var verdicts, unjudged []string
		disagree := false
		for _, c := range cands {
			cp := Predict(t, c.Module)
			if cp.Verdict == verdict.NotJudged {
				unjudged = append(unjudged, fmt.Sprintf("%s: %s", c.Label, cp.Reason))
				p.measure = append(p.measure, c.Label)
				continue
			}
			for _, e := range cp.Neighbours {
				if !slices.ContainsFunc(p.Neighbours, func(n table.Entry) bool { return n.Module == e.Module }) {
					p.Neighbours = append(p.Neighbours, e)
				}
			}
			text := fmt.Sprintf("%s %s", c.Label, cp.Verdict)
			if cp.Predicted {
				text += " (" + cp.Reason + ")"
			}
			verdicts = append(verdicts, text)
			if len(verdicts) == 1 {
				p.Verdict = cp.Verdict
			}
			disagree = disagree || cp.Verdict != p.Verdict
		}
		p.Reason = fmt.Sprintf("from symbols: its %d fingerprinted client-go functions are all declared by %d of %s, the candidates: %s",
			evidence, len(cands), known, strings.Join(append(verdicts, unjudged...), ", "))
		switch {
		case len(unjudged) > 0:
			p.Verdict, p.Neighbours = verdict.NotJudged, nil
			p.Reason += fmt.Sprintf("; %d candidate(s) not judged on this minor, so neither is the binary", len(unjudged))
		case disagree:
			p.Verdict = verdict.NotJudged
			p.Reason += "; the candidates disagree and function names cannot tell them apart: not judged; rebuild with modules (go build records the client-go version) or scan a build with module info"
		}
		return p
	})
}

// Judged is a finding with the verdict predicted for its client: what `satoken scan`
// prints and its gate decides on. Its JSON is the finding's fields, then prediction.
type Judged struct {
	find.Finding
	Prediction *Prediction `json:"prediction,omitempty"`
}

// Judge sets f.Prediction: a fork or a bundle is not judged (nothing measured is known
// to be in it); a client-node package is looked up by its version (PredictClientNode); a
// client-go version from the build info by Predict when it is a tag or pseudo-version;
// otherwise (GOPATH builds, local replaces, unparsable versions) from the function names
// against fp. A finding without a client gets none.
func (f *Judged) Judge(t Table, fp Fingerprints) {
	var p Prediction
	switch {
	case f.ClientGo == nil:
		return
	case f.Fork != nil:
		p = forkPrediction(f.Finding)
	case f.ClientGoBy == find.FromBundle:
		p = Prediction{Verdict: verdict.NotJudged, Reason: fmt.Sprintf("%s bundled into %s (found by its in-cluster configuration code): a bundle "+
			"records no package version, so no measurement can be matched to it; scan the node_modules or package-lock.json it was built from, "+
			"or judge the running program with satoken check", find.ClientNodePackage, cmp.Or(f.File, f.Target))}
	case f.IsClientNode():
		p = PredictClientNode(t, f.ClientGo.Version)
	case f.ClientGoBy == find.FromBuildInfo && (t.placeable(f.ClientGoVersion()) || len(f.Funcs) == 0):
		p = Predict(t, f.ClientGoVersion())
	default:
		p = PredictFromSymbols(t, fp, f.Funcs)
		if f.ClientGoBy == find.FromBuildInfo {
			// Each line says first why the version alone gave no verdict.
			why := Predict(t, f.ClientGoVersion()).Reason + "; "
			p.Version, p.Reason = f.ClientGoVersion(), why+p.Reason
			for i := range p.Minors {
				p.Minors[i].Version, p.Minors[i].Reason = p.Version, why+p.Minors[i].Reason
			}
		}
	}
	f.Prediction = &p
}

// placeable reports whether a client-go version can be judged by itself: a tag or
// pseudo-version, or one the table measured. Only other versions fall back to function
// names: candidates that merely declare the same functions must not stand in for a
// version that is known.
func (t Table) placeable(version string) bool {
	q := find.NormalizeVersion(version)
	if q == "" {
		return false
	}
	_, placeable := axisOf(q)
	_, measured := t.labelOf(q)
	return placeable || measured
}

// forkPrediction: a client-go replaced by another module, or whose packages the
// function names show under another module's path, is a fork or a copy: the version it
// claims says nothing of its code.
func forkPrediction(f find.Finding) Prediction {
	what := fmt.Sprintf("client-go's packages are compiled in from the module %s (at %s), not from %s",
		strings.TrimSpace(f.Fork.Path+" "+f.Fork.Version), strings.Join(f.ClientGoAt, ", "), find.ClientGoPath)
	if f.Fork.Replace {
		what = fmt.Sprintf("%s %s is replaced by another module, %s", find.ClientGoPath, f.ClientGo.Version, strings.TrimSpace(f.Fork.Path+" "+f.Fork.Version))
	}
	return Prediction{Version: f.ClientGoVersion(), Verdict: verdict.NotJudged, Reason: what +
		": a fork is not judged by the version it claims, since its token handling may differ; judge the running program with satoken check, or measure a probe built from the fork"}
}

// entryRelease places a table entry: by its module, else its label, else its k8sRelease.
func entryRelease(e table.Entry) (find.Release, bool) {
	for _, v := range []string{e.Module, e.Label} {
		if r, ok := find.ReleaseOf(v); ok {
			return r, true
		}
	}
	return find.KubernetesRelease(e.K8sRelease)
}
