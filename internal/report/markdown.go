package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Markdown renders the verdict table, fit for a pull-request comment.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## satoken %s: ServiceAccount token expiry on Kubernetes %s\n\n", r.Command, strings.Join(r.Versions(), ", "))
	watch := fmt.Sprintf("probe interval %gs, settle %gs after the first 401", r.IntervalSeconds, r.SettleSeconds)
	if r.Command == "check" {
		watch = fmt.Sprintf("watched %gs past exp + leeway", r.SettleSeconds)
	}
	mode := r.TokenMode
	if r.TokenTTLBy != "" {
		mode += ", set by " + r.TokenTTLBy
	}
	if r.Accelerated() {
		b.WriteString("Accelerated control plane: a short token TTL, checked against stock Kubernetes by `satoken run --fast --cross-check`. ")
	}
	fmt.Fprintf(&b, "Token TTL %ds (%s), validator leeway %ds, %s. Run %s → %s.\n\n",
		r.TTLSeconds, mode, r.ValidatorLeewaySeconds, watch, r.StartedAt.Format(time.RFC3339), r.FinishedAt.Format(time.RFC3339))
	r.clusterLines(&b)
	if r.Error != "" {
		fmt.Fprintf(&b, "**ERROR: the run ended early, verdicts are incomplete: %s**\n\n", r.Error)
	}
	if h := r.headline(); h != "" {
		fmt.Fprintf(&b, "**%s**\n\n", h)
	}
	matrix := r.matrix()
	switch {
	case matrix:
		r.matrixTable(&b)
		if len(r.CrossCheck) > 0 {
			b.WriteString("\n### Cross-check: stock vs accelerated\n\n")
			crossCheckTable(&b, r.CrossCheck)
		}
		for _, v := range r.Versions() {
			fmt.Fprintf(&b, "\n### Kubernetes %s\n\n", v)
			r.table(&b, r.resultsOn(v))
		}
	default:
		r.table(&b, r.Results)
	}
	b.WriteString("\n<details><summary>Why each verdict</summary>\n\n")
	for _, res := range r.Results {
		on := ""
		if matrix {
			on = " on " + res.On()
		}
		fmt.Fprintf(&b, "- **%s**%s %s: %s\n", res.Name(), on, res.Verdict, res.Reason)
		if res.Hint != "" {
			fmt.Fprintf(&b, "  What to do: %s.\n", res.Hint)
		}
	}
	b.WriteString("\n</details>\n")
	if len(r.Notes) > 0 {
		b.WriteString("\nSeen, not judged:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.Expectations) > 0 {
		b.WriteString("\n### Expectations\n\n| client | Kubernetes | expected | measured | |\n|---|---|---|---|---|\n")
		for _, e := range r.Expectations {
			mark := "✅"
			if !e.Met {
				mark = "❌"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.ClientGo, dash(e.K8sVersion), e.Want, e.Got, mark)
		}
	}
	b.WriteString("\nPhases: ")
	for i, ph := range r.Phases {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.0fs", ph.Name, ph.Seconds)
	}
	b.WriteString("\n")
	return b.String()
}

// headline states the outcome in words (an error is stated above it).
func (r *Report) headline() string {
	check := r.Command == "check"
	switch {
	case r.Outcome == Passed && check:
		return "PASSED: every pod was judged and the workload survived token expiry"
	case r.Outcome == Passed && len(r.Expectations) > 0:
		return "PASSED: every probe was judged and met its expectation"
	case r.Outcome == Passed:
		return "PASSED: every probe was judged"
	case r.Outcome == Broken && check:
		return "BROKEN: the workload does not survive token expiry"
	case r.Outcome == Broken:
		return "BROKEN: verdicts missed --expect"
	case r.Outcome == NotJudged:
		return "NOT JUDGED: the evidence cannot decide for some clients (why, and what to do, below); this is not a pass"
	}
	return ""
}

// table writes the command's table of results.
func (r *Report) table(b *strings.Builder, results []Result) {
	if r.Command == "check" {
		checkTable(b, results)
		return
	}
	runTable(b, results)
}

// runTable writes one table per client library (client-go, client-node), in the order
// the results list them.
func runTable(b *strings.Builder, results []Result) {
	var libraries []string
	for _, res := range results {
		if !slices.Contains(libraries, res.Probe.Library) {
			libraries = append(libraries, res.Probe.Library)
		}
	}
	for i, lib := range libraries {
		if len(libraries) > 1 {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(b, "#### %s\n\n", lib)
		}
		fmt.Fprintf(b, "| %s | module | client release | verdict | token exp | rotations | first 401 | 401 / ok | audit 401 | restart → recovered |\n", libraryColumn(lib))
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, res := range results {
			if p := res.Probe; p.Library == lib {
				audit401 := "–" // no audit log: nothing to count
				if slices.Contains(res.Evidence, EvidenceAudit401) {
					audit401 = strconv.Itoa(p.AuditUnauthorized)
				}
				fmt.Fprintf(b, "| %s | `%s` | %s | **%s** | %s | %d | %s | %d / %d | %s | %s |\n",
					p.ClientGo, p.ClientGoModule, dash(p.K8sRelease), res.Verdict, clock(res.TokenExp), res.RotationsSeen,
					relative(res.FirstUnauthorizedAt, res.TokenExp), res.UnauthorizedCount, res.OKCount, audit401, recovery(p))
			}
		}
	}
}

// libraryColumn names a library's table column: its short name.
func libraryColumn(library string) string {
	if i := strings.LastIndex(library, "/"); i >= 0 {
		return library[i+1:]
	}
	return library
}

// checkTable is the gate's view: one row per workload pod, from apiserver evidence.
func checkTable(b *strings.Builder, results []Result) {
	b.WriteString("| workload | pod | verdict | token exp | token versions | first 401 | 401 / ok calls | restarts | log lines with Unauthorized |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range results {
		w := res.Workload
		fmt.Fprintf(b, "| %s | %s/%s | **%s** | %s | %d | %s | %d / %d | %d | %d |\n",
			w.Owner, res.Namespace, res.Pod, res.Verdict, estimated(clock(res.TokenExp), w.TokenEstimated), len(res.Observation.Tokens),
			relative(res.FirstUnauthorizedAt, res.TokenExp), res.UnauthorizedCount, res.OKCount, res.Restarts, w.LogUnauthorizedLines)
	}
}

func estimated(s string, est bool) string {
	if est {
		return s + " (est.)"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func clock(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return t.UTC().Format("15:04:05")
}

// relative renders t as an offset from ref ("exp+61s").
func relative(t, ref *time.Time) string {
	switch {
	case t == nil:
		return "–"
	case ref == nil:
		return clock(t)
	}
	d := t.Sub(*ref).Round(time.Second)
	sign := "+"
	if d < 0 {
		sign = ""
	}
	return fmt.Sprintf("exp%s%s", sign, d)
}

func recovery(p *ProbeResult) string {
	switch {
	case !p.Restarted:
		return "–"
	case p.RecoveredAfterRestart != nil && *p.RecoveredAfterRestart && p.SecondsToRecover != nil:
		return fmt.Sprintf("yes, %.0fs", *p.SecondsToRecover)
	}
	return "**no**"
}
