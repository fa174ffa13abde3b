package report

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

// Timeline geometry, in SVG user units.
const (
	tlLeft      = 190.0 // label column
	tlWidth     = 1000.0
	tlTop       = 40.0 // below the title
	tlPanelHead = 46.0 // a panel's title and minute labels
	tlLane      = 38.0
	tlRight     = 30.0
	tlMarkW     = 2.0
	tlLegend    = 70.0
)

var outcomeColor = map[string]string{probelog.OutcomeOK: "#2e9d4a", probelog.OutcomeUnauthorized: "#d62728"}

// TimelineSVG draws one panel per Kubernetes version (each with its own time axis: a
// matrix runs its clusters at different times) and in it one lane per result: a mark per
// call (green ok, red 401, grey other), the first token's exp and exp+leeway, each
// rotation the probe saw, and the restart.
func (r *Report) TimelineSVG() string {
	versions := r.Versions()
	height := tlTop + tlLegend
	for _, v := range versions {
		height += tlPanelHead + tlLane*float64(len(r.resultsOn(v)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", tlLeft+tlWidth+tlRight, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := fmt.Sprintf("satoken %s — token TTL %ds (%s), leeway %ds", r.Command, r.TTLSeconds, r.TokenMode, r.ValidatorLeewaySeconds)
	if r.Accelerated() {
		title += ", accelerated control plane"
	}
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	y := tlTop
	for _, v := range versions {
		y = r.panel(&b, v, y)
	}
	legend := []struct{ color, text string }{
		{"#2e9d4a", "call ok"}, {"#d62728", "401 Unauthorized"}, {"#999", "other error"},
		{"#ff7f0e", "first token exp (dashed: + leeway)"}, {"#1f77b4", "token rotation seen"}, {"#9467bd", "pod restart (lower marks: new pod)"},
	}
	lx := tlLeft
	for _, l := range legend {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, lx, y+12, l.color, lx+14, y+21, esc(l.text))
		lx += 14 + 7*float64(len(l.text)) + 18
	}
	b.WriteString("\n</svg>\n")
	return b.String()
}

// panel draws one Kubernetes version's results from top and returns where it ends.
func (r *Report) panel(b *strings.Builder, version string, top float64) float64 {
	results := r.resultsOn(version)
	start, end := span(results, r.StartedAt, r.FinishedAt)
	scale := tlWidth / max(end.Sub(start).Seconds(), 1)
	x := func(t time.Time) float64 { return tlLeft + t.Sub(start).Seconds()*scale }
	fmt.Fprintf(b, `<text x="10" y="%.0f" font-size="13" font-weight="bold">%s</text>`+"\n", top+14,
		esc(fmt.Sprintf("Kubernetes %s — from %s UTC", dash(version), start.UTC().Format("2006-01-02 15:04:05"))))
	laneTop := top + tlPanelHead
	bottom := laneTop + tlLane*float64(len(results))
	// Minute grid relative to the start of this panel's observation.
	for m := 0; start.Add(time.Duration(m) * time.Minute).Before(end.Add(time.Second)); m++ {
		gx := x(start.Add(time.Duration(m) * time.Minute))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#eee"/>`, gx, laneTop-8, gx, bottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#666">+%dm</text>`+"\n", gx, laneTop-12, m)
	}
	for i, res := range results {
		y := laneTop + tlLane*float64(i)
		mid := y + tlLane/2
		fmt.Fprintf(b, `<text x="10" y="%.1f">%s</text>`, mid-2, esc(res.Name()))
		fmt.Fprintf(b, `<text x="10" y="%.1f" font-size="10" fill="%s">%s</text>`+"\n", mid+11, verdictColor(string(res.Verdict)), esc(string(res.Verdict)))
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ccc"/>`+"\n", tlLeft, y+tlLane, tlLeft+tlWidth, y+tlLane)
		for _, c := range res.Calls {
			color, ok := outcomeColor[c.Outcome]
			if !ok {
				color = "#999"
			}
			markTop := y + 6
			if c.Restarted {
				markTop = y + 14 // the restarted pod's calls sit lower in the lane
			}
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.0f" height="14" fill="%s"/>`, x(c.At)-tlMarkW/2, markTop, tlMarkW, color)
		}
		b.WriteString("\n")
		if res.TokenExp != nil {
			ex := x(*res.TokenExp)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ff7f0e" stroke-width="2"><title>first token exp %s</title></line>`,
				ex, y+2, ex, y+tlLane-2, res.TokenExp.UTC().Format(time.RFC3339))
			lx := x(res.TokenExp.Add(time.Duration(r.ValidatorLeewaySeconds) * time.Second))
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ff7f0e" stroke-dasharray="3,2"><title>exp + leeway</title></line>`+"\n", lx, y+2, lx, y+tlLane-2)
		}
		for _, tok := range res.Observation.Tokens[min(1, len(res.Observation.Tokens)):] {
			tx := x(tok.ReadAt)
			fmt.Fprintf(b, `<path d="M%.1f %.1f l-5 -7 h10 z" fill="#1f77b4"><title>rotation %d seen at %s</title></path>`+"\n",
				tx, y+tlLane-1, tok.Rotation, tok.ReadAt.UTC().Format(time.RFC3339))
		}
		if res.Probe != nil && res.Probe.RestartedAt != nil { // only run restarts its pods
			rx := x(*res.Probe.RestartedAt)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9467bd" stroke-width="2"><title>restart</title></line>`+"\n", rx, y+2, rx, y+tlLane-2)
		}
	}
	return bottom + 10
}

// span is the time range covering every call of the results (the run's, without any).
func span(results []Result, started, finished time.Time) (time.Time, time.Time) {
	var start, end time.Time
	for _, res := range results {
		for _, c := range res.Calls {
			if start.IsZero() || c.At.Before(start) {
				start = c.At
			}
			if c.At.After(end) {
				end = c.At
			}
		}
	}
	if start.IsZero() {
		start, end = started, finished
	}
	return start.Truncate(time.Minute), end
}

func verdictColor(v string) string {
	switch v {
	case "RELOADS":
		return "#2e9d4a"
	case "FAILS_AFTER_EXPIRY":
		return "#d62728"
	case "INTERMITTENT":
		return "#ff7f0e"
	}
	return "#555"
}

func esc(s string) string { return html.EscapeString(s) }
