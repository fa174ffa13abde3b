package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// TableSchemaVersion is bumped on incompatible changes to the table file. 2: the table
// records its token mode and TTL, entries count their verdicts, NOT_JUDGED runs are
// counted apart from measurements.
const TableSchemaVersion = 2

// Table is the measured verdict per client-go version (and per @kubernetes/client-node
// version, entries whose Module is @kubernetes/client-node@<version>): the only source of
// predictions.
// Every run in it had the same token mode and TTL: a verdict depends on both.
type Table struct {
	SchemaVersion int     `json:"schemaVersion"`
	TokenMode     string  `json:"tokenMode"`
	TTLSeconds    int     `json:"ttlSeconds"`
	Entries       []Entry `json:"entries"`
}

// Entry is one client-go version, measured in one or more matrix runs.
type Entry struct {
	Label      string          `json:"label"`  // e.g. v12.0.0
	Module     string          `json:"module"` // the exact client-go module version measured
	K8sRelease string          `json:"k8sRelease"`
	Verdict    verdict.Verdict `json:"verdict"` // the most severe of Observed; NOT_JUDGED when none
	// Observed lists every verdict the runs measured. Clients that re-read the token file
	// on a timer of their own land on either side of the kubelet's rotation with short
	// TTLs, so one version can be RELOADS in one run and INTERMITTENT in the next.
	Observed []verdict.Verdict `json:"observed"`
	// Counts is how often each verdict was measured. Runs merged before schema 2
	// (LegacyRuns) are in Observed but not counted: their counts were not kept.
	Counts map[verdict.Verdict]int `json:"counts"`
	// NotJudged counts runs that drew no verdict (NOT_JUDGED): not measurements.
	NotJudged int `json:"notJudged,omitempty"`
	// LegacyRuns are runs merged before schema 2, judged or not (schema 1 kept only the
	// number of runs and the set of verdicts).
	LegacyRuns int `json:"legacyRuns,omitempty"`
	// Runs is every run merged: LegacyRuns + NotJudged + the sum of Counts.
	Runs       int       `json:"runs"`
	MeasuredAt time.Time `json:"measuredAt"` // the latest run's finishedAt
	K8sVersion string    `json:"k8sVersion"` // the cluster's
	TTLSeconds int       `json:"ttlSeconds"`
	// ModuleTime is the date of Module (pseudo-version date or tag time): it places
	// pseudo-versions, which carry nothing else.
	ModuleTime *time.Time `json:"moduleTime,omitempty"`
}

// Name is how an entry is shown: its label, with the module when that differs.
func (e Entry) Name() string {
	if e.Module == "" || e.Module == e.Label {
		return e.Label
	}
	return e.Label + " (" + e.Module + ")"
}

// severity orders verdicts for a gate: the worst a client was seen to do wins.
var severity = map[verdict.Verdict]int{verdict.NotJudged: 0, verdict.Reloads: 1, verdict.Intermittent: 2, verdict.FailsAfterExpiry: 3}

// TableFromReports merges matrix runs into a new table, an entry per client-go module.
func TableFromReports(reports ...*report.Report) (Table, error) {
	t := Table{SchemaVersion: TableSchemaVersion, Entries: []Entry{}}
	return t, t.Add(reports...)
}

// Add merges more matrix runs into t. It refuses, before merging anything, a run that
// ended early (its verdicts are incomplete) and runs of another token mode or TTL than
// the table's. Results that are not probes (check's workload pods), or have no verdict or
// client-go version, are left out; NOT_JUDGED probes are counted apart, not as measurements.
func (t *Table) Add(reports ...*report.Report) error {
	mode, ttl := t.TokenMode, t.TTLSeconds
	for _, r := range reports {
		name := fmt.Sprintf("report of cluster %q finished %s", r.Cluster, r.FinishedAt.Format(time.RFC3339))
		switch {
		case r.Error != "":
			return fmt.Errorf("%s ended early (%s): its verdicts are incomplete", name, r.Error)
		case mode == "" && ttl == 0:
			mode, ttl = r.TokenMode, r.TTLSeconds
		case r.TokenMode != mode || r.TTLSeconds != ttl:
			return fmt.Errorf("%s measured %s tokens of %d s, the table %s tokens of %d s: verdicts of different token lifetimes do not mix",
				name, r.TokenMode, r.TTLSeconds, mode, ttl)
		}
	}
	t.TokenMode, t.TTLSeconds = mode, ttl
	index := map[string]int{}
	for i, e := range t.Entries {
		index[e.Module] = i
	}
	for _, r := range reports {
		for _, res := range r.Results {
			p := res.Probe
			if p == nil || res.Verdict == "" || (p.ClientGo == "" && p.ClientGoModule == "") {
				continue
			}
			i, ok := index[p.ClientGoModule]
			if !ok {
				e := Entry{Label: p.ClientGo, Module: p.ClientGoModule, K8sRelease: p.K8sRelease}
				if module.IsPseudoVersion(e.Module) {
					if ts, err := module.PseudoVersionTime(e.Module); err == nil {
						e.ModuleTime = &ts
					}
				}
				i = len(t.Entries)
				index[p.ClientGoModule] = i
				t.Entries = append(t.Entries, e)
			}
			e := &t.Entries[i]
			e.Runs++
			if e.K8sRelease == "" {
				e.K8sRelease = p.K8sRelease
			}
			if r.FinishedAt.After(e.MeasuredAt) {
				e.MeasuredAt, e.K8sVersion, e.TTLSeconds = r.FinishedAt, r.K8sVersion, r.TTLSeconds
			}
			if res.Verdict == verdict.NotJudged {
				e.NotJudged++
				continue
			}
			if e.Counts == nil {
				e.Counts = map[verdict.Verdict]int{}
			}
			e.Counts[res.Verdict]++
			if !slices.Contains(e.Observed, res.Verdict) {
				e.Observed = append(e.Observed, res.Verdict)
			}
		}
	}
	for i := range t.Entries {
		e := &t.Entries[i]
		e.Observed = slices.DeleteFunc(e.Observed, func(v verdict.Verdict) bool { return v == verdict.NotJudged }) // schema 1 kept them
		slices.SortFunc(e.Observed, func(a, b verdict.Verdict) int { return severity[a] - severity[b] })
		e.Verdict = verdict.NotJudged
		if len(e.Observed) > 0 {
			e.Verdict = e.Observed[len(e.Observed)-1]
		}
		if e.Counts == nil {
			e.Counts = map[verdict.Verdict]int{}
		}
	}
	return nil
}

// ResolveModuleTimes fills the missing module times from `go list -m` (module cache or
// proxy). Entries it cannot resolve keep none; the error lists them.
func (t *Table) ResolveModuleTimes(ctx context.Context) error {
	var errs []error
	for i := range t.Entries {
		e := &t.Entries[i]
		if e.ModuleTime != nil || e.Module == "" || e.IsClientNode() {
			continue // client-node versions are placed by their npm version, never by date
		}
		// Outside any module, so this checkout's go.mod plays no part.
		out, err := hostcmd.Output(hostcmd.InDir(exec.CommandContext(ctx, "go", "list", "-m", "-json", ClientGoPath+"@"+e.Module),
			os.TempDir(), "GOWORK=off"))
		var info struct{ Time *time.Time }
		if err == nil {
			err = json.Unmarshal([]byte(out), &info)
		}
		if err == nil && info.Time == nil {
			err = errors.New("no time in go list output")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("module time of %s: %w", e.Name(), err))
			continue
		}
		e.ModuleTime = info.Time
	}
	return errors.Join(errs...)
}

// LoadTable reads a table file.
func LoadTable(path string) (Table, error) {
	return loadChecked(path, TableSchemaVersion, func(t Table) int { return t.SchemaVersion })
}

// Write stores the table as indented JSON (checked in, so diffs stay readable).
func (t Table) Write(path string) error { return writeChecked(path, t) }

// loadChecked reads one of the checked-in JSON files (table, fingerprints) and refuses
// another schema version than this binary's.
func loadChecked[T any](path string, want int, version func(T) int) (T, error) {
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	if got := version(v); got != want {
		return v, fmt.Errorf("%s: schema version %d, want %d", path, got, want)
	}
	return v, nil
}

// writeChecked stores v as indented JSON, so diffs of the checked-in files stay readable.
func writeChecked(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Markdown renders the table for the README: one row per version, every verdict with how
// often it was measured, so nobody types a measured table by hand.
// client-go entries come first, in their own table; @kubernetes/client-node entries, when
// there are any, follow in a second one.
func (t Table) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| client-go | module | Kubernetes release | verdict (the worst measured) | measured | runs |\n|---|---|---|---|---|---|\n")
	var js []Entry
	for _, e := range t.Entries {
		if e.IsClientNode() {
			js = append(js, e)
			continue
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | **%s** | %s | %s |\n", e.Label, e.Module, e.K8sRelease, e.Verdict, measuredText(e), runsText(e))
	}
	if len(js) > 0 {
		fmt.Fprintf(&b, "\n| %s | probe | verdict (the worst measured) | measured | runs |\n|---|---|---|---|---|\n", ClientNodePackage)
		for _, e := range js {
			fmt.Fprintf(&b, "| %s | %s | **%s** | %s | %s |\n", strings.TrimPrefix(e.Module, ClientNodePackage+"@"), e.Label, e.Verdict, measuredText(e), runsText(e))
		}
	}
	fmt.Fprintf(&b, "\nToken mode %s, TTL %d s; latest run on Kubernetes %s.\n", t.TokenMode, t.TTLSeconds, t.latestK8s())
	return b.String()
}

// measuredText lists an entry's verdicts with how often each was measured.
func measuredText(e Entry) string {
	var seen []string
	for _, v := range e.Observed {
		if n := e.Counts[v]; n > 0 {
			seen = append(seen, fmt.Sprintf("%s ×%d", v, n))
		} else {
			seen = append(seen, string(v))
		}
	}
	return strings.Join(seen, ", ")
}

func runsText(e Entry) string {
	runs := fmt.Sprint(e.Runs)
	if e.LegacyRuns > 0 {
		runs += fmt.Sprintf(" (%d before verdicts were counted)", e.LegacyRuns)
	}
	return runs
}

func (t Table) latestK8s() string {
	var at time.Time
	k8s := "?"
	for _, e := range t.Entries {
		if e.MeasuredAt.After(at) {
			at, k8s = e.MeasuredAt, e.K8sVersion
		}
	}
	return k8s
}

// Markers delimit the generated table in the README.
const (
	readmeBegin = "<!-- verdict-table: generated by `make verdict-table`; do not edit -->\n"
	readmeEnd   = "<!-- /verdict-table -->\n"
)

// ReplaceInReadme puts the table's Markdown between the README's markers.
func (t Table) ReplaceInReadme(doc string) (string, error) {
	i := strings.Index(doc, readmeBegin)
	j := strings.Index(doc, readmeEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q … %q block", strings.TrimSpace(readmeBegin), strings.TrimSpace(readmeEnd))
	}
	return doc[:i+len(readmeBegin)] + t.Markdown() + doc[j:], nil
}
