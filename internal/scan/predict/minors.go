package predict

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Table is the measured table as predictions read it: which Kubernetes minors a client
// gets a line on, and which of them decide the gate.
type Table struct {
	table.Table
	// only restricts predictions to one Kubernetes minor (see OnMinor); deciding are the
	// minors a gate decides on and measureOn the Kubernetes version named for each (see
	// DecideOn).
	only      string
	deciding  []string
	measureOn map[string]string
}

// OnMinor returns t with predictions restricted to one Kubernetes minor: a client is
// judged from that minor's entries alone, one line, and not judged when the table
// measured its library on no cluster of that minor.
func (t Table) OnMinor(minor string) Table {
	t.only = minor
	return t
}

// DecideOn returns t with the gate deciding on the Kubernetes versions named (scan --k8s:
// v1.34, or v1.34.4 to also name the version a missing measurement is taken on) instead
// of on the minors where a client is judged. The other minors the table measured stay as
// context lines.
func (t Table) DecideOn(versions ...string) (Table, error) {
	t.deciding, t.measureOn = nil, map[string]string{}
	for _, v := range versions {
		minor, err := table.K8sMinor(v)
		if err != nil {
			return t, err
		}
		if slices.Contains(t.deciding, minor) {
			return t, fmt.Errorf("names Kubernetes %s twice", minor)
		}
		t.deciding = append(t.deciding, minor)
		if strings.Count(strings.TrimPrefix(v, "v"), ".") >= 2 {
			t.measureOn[minor] = "v" + strings.TrimPrefix(v, "v")
		}
	}
	slices.SortFunc(t.deciding, semver.Compare)
	return t, nil
}

// gateOrder ranks verdicts as a gate's exit code does: a failure wins over not judged,
// which wins over a pass.
var gateOrder = map[verdict.Verdict]int{verdict.Reloads: 0, verdict.NotJudged: 1, verdict.Intermittent: 2, verdict.FailsAfterExpiry: 3}

// byMinor predicts with predict on each Kubernetes minor apart, from that minor's
// entries of the library alone (client-node or client-go): a client can behave
// differently on another apiserver, so minors never pool their entries. The lines are
// the minors the table measured the library on and those the gate decides on (DecideOn),
// or only the one t is restricted to (OnMinor); a minor without measurements is not
// judged. Each line not judged names the command that measures it, when one would.
// decide combines the lines into the gate's prediction.
func byMinor(t Table, clientNode bool, predict func(Table) Prediction) Prediction {
	own := t.of(clientNode)
	measuredOn := table.Minors(own)
	on := t.linesOn(measuredOn)
	if len(on) == 0 {
		return predict(Table{}) // nothing measured: predict says why
	}
	lines := make([]Prediction, len(on))
	for i, m := range on {
		sub := Table{Table: table.Table{SchemaVersion: t.SchemaVersion, TokenMode: t.TokenMode, TTLSeconds: t.TTLSeconds}}
		for _, e := range own {
			if e.K8sMinor == m {
				sub.Entries = append(sub.Entries, e)
			}
		}
		l := predict(sub)
		if len(sub.Entries) == 0 {
			l.Verdict, l.Predicted, l.Neighbours, l.Observed = verdict.NotJudged, false, nil, nil
			l.Reason = fmt.Sprintf("not measured on %s: the table measured %s on %s", m, libraryName(clientNode), orNothing(measuredOn))
		}
		l.K8sMinor = m
		if l.Verdict == verdict.NotJudged && len(l.measure) > 0 {
			l.measurement = &Measurement{K8s: t.measureK8s(m), Minor: m, Versions: l.measure}
			l.Measure = l.measurement.Command()
		}
		lines[i] = l
	}
	return t.decide(lines)
}

// linesOn are the minors a client gets a line on.
func (t Table) linesOn(measuredOn []string) []string {
	if t.only != "" {
		return []string{t.only}
	}
	on := slices.Clone(measuredOn)
	for _, m := range t.deciding {
		if !slices.Contains(on, m) {
			on = append(on, m)
		}
	}
	slices.SortFunc(on, semver.Compare)
	return on
}

// decide combines one line per minor into the gate's prediction. The gate decides on the
// minors named (DecideOn), else on those where the client is judged: a verdict on one
// minor does not vouch for another, and a minor where nothing decides (its neighbours
// disagree, nothing was measured) neither passes nor fails the client. On the deciding
// minors the worst in gate order wins; no deciding minor at all is not judged. The
// other lines are context.
func (t Table) decide(lines []Prediction) Prediction {
	if len(lines) == 1 && t.deciding == nil {
		return lines[0]
	}
	deciding := t.deciding
	if deciding == nil {
		for _, l := range lines {
			if l.Verdict != verdict.NotJudged {
				deciding = append(deciding, l.K8sMinor)
			}
		}
	}
	p := Prediction{Version: lines[0].Version, Verdict: verdict.Reloads, FromSymbols: true, DecidedOn: deciding, Minors: lines}
	var reasons []string
	for i := range lines {
		l := &lines[i]
		l.Context = !slices.Contains(deciding, l.K8sMinor)
		p.FromSymbols = p.FromSymbols && l.FromSymbols
		for _, c := range l.Candidates {
			if !slices.Contains(p.Candidates, c) {
				p.Candidates = append(p.Candidates, c)
			}
		}
		if l.Context {
			continue
		}
		if gateOrder[l.Verdict] > gateOrder[p.Verdict] {
			p.Verdict = l.Verdict
		}
		p.Predicted = p.Predicted || l.Predicted
		for _, v := range l.Observed {
			if !slices.Contains(p.Observed, v) {
				p.Observed = append(p.Observed, v)
			}
		}
		p.Neighbours = append(p.Neighbours, l.Neighbours...)
		reasons = append(reasons, l.K8sMinor+": "+l.Reason)
	}
	slices.SortFunc(p.Observed, table.BySeverity)
	if len(deciding) == 0 {
		p.Verdict = verdict.NotJudged
		for _, l := range lines {
			reasons = append(reasons, l.K8sMinor+": "+l.Reason)
		}
		p.Reason = "not judged on any Kubernetes minor: " + strings.Join(reasons, "; ")
		return p
	}
	p.Reason = strings.Join(reasons, "; ")
	return p
}

// measureK8s is the Kubernetes version that measures a client on minor: the one named
// with --k8s, else the latest the table measured on that minor, else "": the patch only
// the user can choose.
func (t Table) measureK8s(minor string) string {
	if v := t.measureOn[minor]; v != "" {
		return v
	}
	return table.LatestOn(t.Entries, minor)
}

// of is t's entries of one library: client-node's or client-go's.
func (t Table) of(clientNode bool) []table.Entry {
	var own []table.Entry
	for _, e := range t.Entries {
		if e.IsClientNode() == clientNode {
			own = append(own, e)
		}
	}
	return own
}

func libraryName(clientNode bool) string {
	if clientNode {
		return find.ClientNodePackage
	}
	return find.ClientGoPath
}

func orNothing(minors []string) string {
	if len(minors) == 0 {
		return "no Kubernetes version"
	}
	return strings.Join(minors, ", ")
}
