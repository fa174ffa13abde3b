package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// CrossCheckRow is one client's verdicts on a stock and an accelerated cluster of the same
// Kubernetes version, and, when they differ, what the data says about why.
type CrossCheckRow struct {
	Client      string          `json:"client"`
	K8sVersion  string          `json:"k8sVersion"`
	Stock       verdict.Verdict `json:"stock"`
	Accelerated verdict.Verdict `json:"accelerated"`
	Same        bool            `json:"same"`
	// SwitchLagSeconds is the longest the client took, on the stock cluster, to send a
	// token after the kubelet issued it (its re-read period, at least); 0 when it never
	// switched.
	SwitchLagSeconds float64 `json:"switchLagSeconds,omitempty"`
	// MarginSeconds is, on the accelerated cluster, how long an old token was still
	// accepted after its successor was issued (exp + leeway - the successor's iat).
	MarginSeconds float64 `json:"marginSeconds,omitempty"`
	Cause         string  `json:"cause,omitempty"`
}

// CrossCheck pairs every client measured on both a stock and an accelerated cluster of one
// Kubernetes version.
func CrossCheck(r *Report) []CrossCheckRow {
	type key struct{ client, version string }
	stock, fast := map[key]Result{}, map[key]Result{}
	var order []key
	for _, res := range r.Results {
		k := key{res.Name(), res.K8sVersion}
		if res.Accelerated {
			fast[k] = res
		} else {
			stock[k] = res
		}
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	margins := acceleratedMargins(r)
	var rows []CrossCheckRow
	for _, k := range order {
		s, okS := stock[k]
		a, okA := fast[k]
		if !okS || !okA {
			continue
		}
		row := CrossCheckRow{Client: k.client, K8sVersion: k.version, Stock: s.Verdict, Accelerated: a.Verdict, Same: s.Verdict == a.Verdict}
		lag := switchLag(s.Observation)
		margin, ok := tokenMargin(a.Observation, r.leeway())
		if !ok {
			margin = margins[k.version]
		}
		row.SwitchLagSeconds, row.MarginSeconds = lag.Seconds(), margin.Seconds()
		if !row.Same {
			row.Cause = crossCause(s, a, lag, margin)
		}
		rows = append(rows, row)
	}
	return rows
}

func (r *Report) leeway() time.Duration { return time.Duration(r.ValidatorLeewaySeconds) * time.Second }

// switchLag is the longest time between a token's issue (iat, from the file the kubelet
// wrote) and the client's first call carrying it (the header actually sent), over the
// tokens it switched to; 0 when it never sent another token.
func switchLag(o verdict.Observation) time.Duration {
	iat := map[string]time.Time{}
	for _, t := range o.Tokens {
		iat[t.Hash] = t.Iat
	}
	var lag time.Duration
	for i, c := range o.Credentials {
		if issued, ok := iat[c.Hash]; ok && i > 0 && !issued.IsZero() {
			lag = max(lag, c.FirstUsedAt.Sub(issued))
		}
	}
	return lag
}

// tokenMargin is how long the first token was still accepted after the second was issued,
// from a client that sent both.
func tokenMargin(o verdict.Observation, leeway time.Duration) (time.Duration, bool) {
	if len(o.Tokens) < 2 || o.Tokens[0].Exp.IsZero() || o.Tokens[1].Iat.IsZero() {
		return 0, false
	}
	return o.Tokens[0].Exp.Add(leeway).Sub(o.Tokens[1].Iat), true
}

// acceleratedMargins is, per version, the smallest margin any client on the accelerated
// cluster showed: the kubelet rotates every pod's token alike.
func acceleratedMargins(r *Report) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, res := range r.Results {
		if !res.Accelerated {
			continue
		}
		if m, ok := tokenMargin(res.Observation, r.leeway()); ok {
			if have, seen := out[res.K8sVersion]; !seen || m < have {
				out[res.K8sVersion] = m
			}
		}
	}
	return out
}

// crossCause says what the data shows about a difference, and no more.
func crossCause(s, a Result, lag, margin time.Duration) string {
	round := func(d time.Duration) string { return d.Round(time.Second).String() }
	switch {
	case lag > 0 && margin > 0 && lag > margin:
		return fmt.Sprintf("on stock this client sent a new token up to %s after the kubelet issued it; on the accelerated cluster an old token is refused %s after its successor is issued: a client that re-reads this slowly is not judged alike with short tokens (trust stock for it)",
			round(lag), round(margin))
	case s.Verdict == verdict.NotJudged || a.Verdict == verdict.NotJudged:
		return fmt.Sprintf("one side could not be judged: stock %s (%s); accelerated %s (%s)", s.Verdict, s.Reason, a.Verdict, a.Reason)
	}
	var seen []string
	if lag > 0 {
		seen = append(seen, "stock switch lag "+round(lag))
	}
	if margin > 0 {
		seen = append(seen, "accelerated margin "+round(margin))
	}
	return fmt.Sprintf("not explained by the re-read timing measured here (%s): stock %s (%s); accelerated %s (%s)",
		strings.Join(append(seen, "no switch lag beyond the margin"), ", "), s.Verdict, s.Reason, a.Verdict, a.Reason)
}

// crossCheckTable writes the cross-check rows: equal verdicts first in a count, every
// difference with its cause.
func crossCheckTable(b *strings.Builder, rows []CrossCheckRow) {
	same := 0
	for _, row := range rows {
		if row.Same {
			same++
		}
	}
	fmt.Fprintf(b, "%d of %d clients drew the same verdict on both.\n\n", same, len(rows))
	b.WriteString("| client | Kubernetes | stock | accelerated | stock switch lag | accelerated margin | |\n|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		mark := "same"
		if !row.Same {
			mark = "**differs**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Client, row.K8sVersion, row.Stock, row.Accelerated,
			seconds(row.SwitchLagSeconds), seconds(row.MarginSeconds), mark)
	}
	for _, row := range rows {
		if !row.Same {
			fmt.Fprintf(b, "\n- **%s** on %s: stock %s, accelerated %s: %s.", row.Client, row.K8sVersion, row.Stock, row.Accelerated, row.Cause)
		}
	}
	b.WriteString("\n")
}

func seconds(s float64) string {
	if s == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0fs", s)
}

// CrossCheckTable keeps the latest cross-check of each Kubernetes version
// (fixtures/cross-check.json); the table in docs/accelerated.md of when an accelerated
// gate may be trusted is generated from it.
type CrossCheckTable struct {
	Runs []CrossCheckRun `json:"runs"`
}

// CrossCheckRun is one cross-check's rows on one Kubernetes version.
type CrossCheckRun struct {
	K8sVersion            string          `json:"k8sVersion"`
	FinishedAt            time.Time       `json:"finishedAt"`
	StockTTLSeconds       int             `json:"stockTtlSeconds"`
	AcceleratedTTLSeconds int             `json:"acceleratedTtlSeconds"`
	Rows                  []CrossCheckRow `json:"rows"`
}

// Add puts a cross-check report's rows in the table, replacing an older run of the same
// version. A report that ended early or compared nothing is refused.
func (t *CrossCheckTable) Add(r *Report) error {
	switch {
	case r.Error != "":
		return fmt.Errorf("the cross-check ended early (%s): its verdicts are incomplete", r.Error)
	}
	// Compared afresh from the results, whichever satoken wrote the report's own rows.
	rows := CrossCheck(r)
	if len(rows) == 0 {
		return fmt.Errorf("the report pairs no stock with an accelerated result (satoken run --fast --cross-check makes both)")
	}
	byVersion := map[string]*CrossCheckRun{}
	for _, row := range rows {
		run := byVersion[row.K8sVersion]
		if run == nil {
			run = &CrossCheckRun{K8sVersion: row.K8sVersion, FinishedAt: r.FinishedAt}
			for _, c := range r.Clusters {
				if c.K8sVersion != row.K8sVersion {
					continue
				}
				if c.AcceleratedMinTokenSeconds > 0 {
					run.AcceleratedTTLSeconds = c.TTLSeconds
				} else {
					run.StockTTLSeconds = c.TTLSeconds
				}
			}
			byVersion[row.K8sVersion] = run
		}
		run.Rows = append(run.Rows, row)
	}
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		run := byVersion[v]
		i := slices.IndexFunc(t.Runs, func(have CrossCheckRun) bool { return have.K8sVersion == v })
		switch {
		case i < 0:
			t.Runs = append(t.Runs, *run)
		case !run.FinishedAt.Before(t.Runs[i].FinishedAt):
			t.Runs[i] = *run
		}
	}
	slices.SortFunc(t.Runs, func(a, b CrossCheckRun) int { return semver.Compare(a.K8sVersion, b.K8sVersion) })
	return nil
}

// Markdown renders every version's cross-check.
func (t CrossCheckTable) Markdown() string {
	var b strings.Builder
	for _, run := range t.Runs {
		fmt.Fprintf(&b, "\n**Kubernetes %s** (cross-check finished %s; stock token TTL %ds, accelerated %ds): ",
			run.K8sVersion, run.FinishedAt.Format("2006-01-02 15:04 MST"), run.StockTTLSeconds, run.AcceleratedTTLSeconds)
		crossCheckTable(&b, run.Rows)
	}
	return b.String()
}
