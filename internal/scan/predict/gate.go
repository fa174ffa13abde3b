package predict

import (
	"fmt"
	"strings"

	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// LibraryNote is what a pass of a client library means, and what it does not.
const LibraryNote = "this client library re-reads the token; the program's own use of it is not verified — run `satoken check`"

// Scanned is one target of a scan: what was found in it, or why it could not be read.
type Scanned struct {
	Target   string
	Findings []Judged
	Err      error
}

// GateInput is what scan's gate decides on.
type GateInput struct {
	Targets []Scanned
	// AllowNone says the targets are not expected to talk to the apiserver: a target
	// without a Kubernetes client, or a binary that cannot be read for one, passes.
	AllowNone bool
}

// Gate is scan's outcome: one value, which its exit code is derived from.
type Gate struct {
	Outcome   report.Outcome `json:"outcome"`
	Broken    []string       `json:"broken,omitempty"`
	NotJudged []string       `json:"notJudged,omitempty"`
	Errors    []string       `json:"errors"`
	// Notes say what a pass rests on.
	Notes []string `json:"notes,omitempty"`
}

// Decide sorts the targets' findings for a gate: broken are the clients (predicted to be)
// FAILS_AFTER_EXPIRY or INTERMITTENT on a deciding minor (see Table.decide), not judged
// those without a verdict there (an unplaceable version, neighbours that disagree, a
// fork, a bundle), the binaries that cannot be read for a client, and the targets in
// which no Kubernetes client was recognised — unless AllowNone says none is expected. A
// target that could not be scanned fails the scan. A pass needs every target judged:
// passing what it could not judge would pass the very programs the gate exists for.
func Decide(in GateInput) Gate {
	g := Gate{Errors: []string{}}
	judged := false
	for _, t := range in.Targets {
		if t.Err != nil {
			g.Errors = append(g.Errors, t.Err.Error())
			continue
		}
		recognised := false
		for _, f := range t.Findings {
			name := strings.TrimSpace(t.Target + " " + f.File)
			switch {
			case f.Opaque != "" && !in.AllowNone:
				g.NotJudged = append(g.NotJudged, name+": "+f.Opaque+" (pass --allow-none if it does not talk to the apiserver)")
			case f.ClientGo != nil:
				recognised = true
				judged = g.add(name, f) || judged
			}
		}
		switch {
		case recognised:
		case in.AllowNone:
			g.Notes = append(g.Notes, t.Target+": no Kubernetes client recognised; passed on --allow-none (not expected to talk to the apiserver)")
		default:
			g.NotJudged = append(g.NotJudged, t.Target+": no Kubernetes client recognised ("+looked(t.Findings)+"); "+
				"not a pass: an obfuscated, packed or bundled client looks like none; pass --allow-none if it does not talk to the apiserver")
		}
	}
	switch {
	case len(g.Errors) > 0:
		g.Outcome = report.Failed
	case len(g.Broken) > 0:
		g.Outcome = report.Broken
	case len(g.NotJudged) > 0:
		g.Outcome = report.NotJudged
	default:
		g.Outcome = report.Passed
		if judged {
			g.Notes = append(g.Notes, LibraryNote)
		}
	}
	return g
}

// add files one client finding under broken or not judged; judged reports whether it
// passed on some deciding minor.
func (g *Gate) add(name string, f Judged) (judged bool) {
	lib := "client-go"
	if f.IsClientNode() {
		lib = find.ClientNodePackage
	}
	if v := f.ClientGoVersion(); v != "" {
		name += " " + v
	}
	switch p := f.Prediction; {
	case p == nil || p.Verdict == "" || p.Verdict == verdict.NotJudged:
		g.NotJudged = append(g.NotJudged, name+": "+lib+" found, not judged"+unjudgedDetail(p))
	case p.Verdict == verdict.FailsAfterExpiry || p.Verdict == verdict.Intermittent:
		g.Broken = append(g.Broken, fmt.Sprintf("%s: %s%s", name, p.Verdict, p.where(p.Verdict)))
	default:
		return true
	}
	return false
}

// gateLines are the lines a gate that finds p not judged points at: the deciding minors'
// lines, or every line when none decides (a client judged on no minor).
func (p Prediction) gateLines() []Prediction {
	if len(p.DecidedOn) == 0 && len(p.Minors) > 0 {
		return p.Minors
	}
	return p.deciding()
}

// unjudgedDetail says where a prediction is not judged, why, and the command that would
// judge it, on its gateLines.
func unjudgedDetail(p *Prediction) string {
	if p == nil {
		return ""
	}
	var parts []string
	for _, l := range p.gateLines() {
		if l.Verdict != verdict.NotJudged {
			continue
		}
		part := l.Reason
		if l.K8sMinor != "" {
			part = "on " + l.K8sMinor + ": " + part
		}
		if l.Measure != "" {
			part += "; measure it: " + l.Measure
		}
		parts = append(parts, part)
	}
	if len(p.Minors) > 0 && len(p.DecidedOn) == 0 {
		return " on any Kubernetes minor (" + strings.Join(parts, "; ") + ")"
	}
	return ": " + strings.Join(parts, "; ")
}

// looked says what a target without a client held, for the not-judged message.
func looked(findings []Judged) string {
	plain, opaque := 0, 0
	for _, f := range findings {
		if f.Opaque == "" {
			plain++
		} else {
			opaque++
		}
	}
	held := fmt.Sprintf("%d Go binaries without client-go", plain)
	if plain == 1 {
		held = "1 Go binary without client-go"
	}
	if opaque > 0 {
		held += ", " + measure.Count(opaque, "executable") + " that cannot be read for one"
	}
	return held + "; no " + find.ClientNodePackage + " package.json under node_modules nor bundled .js file with its code"
}
