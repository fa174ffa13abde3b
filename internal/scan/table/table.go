// Package table is the measured verdict table: every probe's verdict per client version
// and Kubernetes minor, merged from matrix runs' reports, stored as JSON
// (fixtures/verdict-table.json) and rendered as the README's measured block. Predictions
// read it (internal/scan/predict); it knows nothing of them.
package table

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// SchemaVersion is bumped on incompatible changes to the table file. 2: the table
// records its token mode and TTL, entries count their verdicts, NOT_JUDGED runs are
// counted apart from measurements. 3: an entry is one client version on one Kubernetes
// minor (k8sMinor): a client may behave differently on another apiserver.
const SchemaVersion = 3

// Table is the measured verdict per client-go version (and per @kubernetes/client-node
// version, entries whose Module is @kubernetes/client-node@<version>) and Kubernetes
// minor: the only source of predictions. It also keeps what each minor's clusters did with
// the tokens.
// Every run in it had the same token mode and TTL: a verdict depends on both.
type Table struct {
	SchemaVersion int     `json:"schemaVersion"`
	TokenMode     string  `json:"tokenMode"`
	TTLSeconds    int     `json:"ttlSeconds"`
	Entries       []Entry `json:"entries"`
	// Kubernetes is what each Kubernetes minor did with the tokens, one entry per minor
	// (oldest first); absent from tables written before it was kept.
	Kubernetes []KubernetesEntry `json:"kubernetes,omitempty"`
}

// Entry is one client version measured on one Kubernetes minor, in one or more runs.
type Entry struct {
	Label      string          `json:"label"`  // e.g. v12.0.0
	Module     string          `json:"module"` // the exact client-go module version measured
	K8sRelease string          `json:"k8sRelease"`
	K8sMinor   string          `json:"k8sMinor"` // the minor of the clusters measured on, e.g. v1.34
	Verdict    verdict.Verdict `json:"verdict"`  // the most severe of Observed; NOT_JUDGED when none
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
	K8sVersion string    `json:"k8sVersion"` // the apiserver's version in the latest run, e.g. v1.34.4
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

// BySeverity orders verdicts mildest first, as an entry's Observed lists them: its last is
// the worst a client was seen to do.
func BySeverity(a, b verdict.Verdict) int { return severity[a] - severity[b] }

// K8sMinor is the Kubernetes minor of a version: "v1.34" of v1.34.4, v1.34.4-eks-1 or 1.34.
func K8sMinor(version string) (string, error) {
	v := "v" + strings.TrimPrefix(version, "v")
	minor := semver.MajorMinor(v)
	// semver takes "v1" for v1.0.0; a major alone names no minor.
	if !semver.IsValid(v) || !strings.HasPrefix(v, minor) {
		return "", fmt.Errorf("%q is not a Kubernetes version (vX.Y or vX.Y.Z)", version)
	}
	return minor, nil
}

// sourceBuild matches versions of a Kubernetes built from a tree rather than released:
// satoken's -src, git describe's -N-gHASH and -dirty, and pre-releases. Vendor suffixes
// of releases (v1.34.4-eks-1) do not match.
var sourceBuild = regexp.MustCompile(`-src$|-dirty$|-[0-9]+-g[0-9a-f]{7,}|-(alpha|beta|rc)\.`)

// checkRelease refuses a version the table must not hold: the table predicts for
// releases, and a branch under review is not one (compare it with its release in one
// report instead: run --k8s REL --k8s-source DIR).
func checkRelease(version string) error {
	if _, err := K8sMinor(version); err != nil {
		return err
	}
	if sourceBuild.MatchString(version) {
		return fmt.Errorf("%s is a Kubernetes built from source or a pre-release: the table holds releases only (merge a matrix's release part, k8s-<version>/report.json)", version)
	}
	return nil
}

// FromReports merges matrix runs into a new table, an entry per client module and
// Kubernetes minor.
func FromReports(reports ...*report.Report) (Table, error) {
	t := Table{SchemaVersion: SchemaVersion, Entries: []Entry{}}
	return t, t.Add(reports...)
}

// measured reports whether a result goes into the table: a probe with a verdict and a
// client version (check's workload pods are not).
func measured(res report.Result) bool {
	p := res.Probe
	return p != nil && res.Verdict != "" && (p.ClientGo != "" || p.ClientGoModule != "")
}

// Add merges more matrix runs into t. It refuses, before merging anything, a run that
// ended early (its verdicts are incomplete), runs on an accelerated control plane (never
// pooled with stock ones), runs of another token mode or TTL than the
// table's, and results that do not say which Kubernetes version they were measured on.
// Results that are not probes (check's workload pods), or have no verdict or client-go
// version, are left out; NOT_JUDGED probes are counted apart, not as measurements. Each
// cluster that measured its Kubernetes and did not end early is merged into its minor's
// Kubernetes entry.
func (t *Table) Add(reports ...*report.Report) error {
	mode, ttl := t.TokenMode, t.TTLSeconds
	for _, r := range reports {
		name := fmt.Sprintf("%s report finished %s", r.Command, r.FinishedAt.Format(time.RFC3339))
		switch {
		case r.Error != "":
			return fmt.Errorf("%s ended early (%s): its verdicts are incomplete", name, r.Error)
		case r.Accelerated():
			return fmt.Errorf("%s was measured on an accelerated control plane: the table holds stock measurements only (satoken run --fast --cross-check compares the two)", name)
		case mode == "" && ttl == 0:
			mode, ttl = r.TokenMode, r.TTLSeconds
		case r.TokenMode != mode || r.TTLSeconds != ttl:
			return fmt.Errorf("%s measured %s tokens of %d s, the table %s tokens of %d s: verdicts of different token lifetimes do not mix",
				name, r.TokenMode, r.TTLSeconds, mode, ttl)
		}
		if err := checkClusters(name, r); err != nil {
			return err
		}
		for _, res := range r.Results {
			if !measured(res) {
				continue
			}
			if res.K8sVersion == "" {
				return fmt.Errorf("%s: %s has no k8sVersion (the Kubernetes version it was measured on): the report is from an older satoken, re-run with this one",
					name, res.Name())
			}
			if err := checkRelease(res.K8sVersion); err != nil {
				return fmt.Errorf("%s: %s: k8sVersion %w", name, res.Name(), err)
			}
		}
	}
	t.TokenMode, t.TTLSeconds = mode, ttl
	type key struct{ module, minor string }
	index := map[key]int{}
	for i, e := range t.Entries {
		index[key{e.Module, e.K8sMinor}] = i
	}
	for _, r := range reports {
		t.addKubernetes(r)
		for _, res := range r.Results {
			if !measured(res) {
				continue
			}
			p := res.Probe
			minor, _ := K8sMinor(res.K8sVersion) // checked above
			i, ok := index[key{p.ClientGoModule, minor}]
			if !ok {
				e := Entry{Label: p.ClientGo, Module: p.ClientGoModule, K8sRelease: p.K8sRelease, K8sMinor: minor}
				if module.IsPseudoVersion(e.Module) {
					if ts, err := module.PseudoVersionTime(e.Module); err == nil {
						e.ModuleTime = &ts
					}
				}
				i = len(t.Entries)
				index[key{p.ClientGoModule, minor}] = i
				t.Entries = append(t.Entries, e)
			}
			e := &t.Entries[i]
			e.Runs++
			if e.K8sRelease == "" {
				e.K8sRelease = p.K8sRelease
			}
			// One matrix report can measure two patches of a minor: the newer one is kept.
			if r.FinishedAt.After(e.MeasuredAt) || r.FinishedAt.Equal(e.MeasuredAt) && semver.Compare(res.K8sVersion, e.K8sVersion) > 0 {
				e.MeasuredAt, e.K8sVersion, e.TTLSeconds = r.FinishedAt, res.K8sVersion, r.TTLSeconds
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
		slices.SortFunc(e.Observed, BySeverity)
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

// Minors lists the Kubernetes minors entries were measured on, oldest first.
func Minors(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		if !slices.Contains(out, e.K8sMinor) {
			out = append(out, e.K8sMinor)
		}
	}
	slices.SortFunc(out, semver.Compare)
	return out
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
		info, err := gocmd.Published(ctx, find.ClientGoPath, e.Module)
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

// Load reads a table file. Tables of schema 2 and before are refused: their entries
// do not say which Kubernetes minor they were measured on.
func Load(path string) (Table, error) {
	return LoadChecked(path, SchemaVersion, func(t Table) int { return t.SchemaVersion })
}

// Write stores the table as indented JSON (checked in, so diffs stay readable).
func (t Table) Write(path string) error { return WriteChecked(path, t) }

// LoadChecked reads one of the checked-in JSON files (the table, predict's fingerprints)
// and refuses another schema version than this binary's: the fields it spells differently
// would come out empty.
func LoadChecked[T any](path string, want int, version func(T) int) (T, error) {
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	switch got := version(v); {
	case got < want:
		return v, fmt.Errorf("%s: schema version %d, want %d: written by an older satoken", path, got, want)
	case got > want:
		return v, fmt.Errorf("%s: schema version %d, want %d: written by a newer satoken: update this one", path, got, want)
	}
	return v, nil
}

// WriteChecked stores v as indented JSON, so diffs of the checked-in files stay readable.
func WriteChecked(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Markdown renders the table for the README: one row per client version, one verdict
// column per Kubernetes minor measured, so nobody types a measured table by hand.
// client-go entries come first, in their own table; @kubernetes/client-node entries, when
// there are any, follow in a second one; then, when measured, what each Kubernetes minor
// did with the tokens.
func (t Table) Markdown() string {
	on := Minors(t.Entries)
	var goRows, jsRows []row
	at := map[string]int{} // module → its row (client-node modules are npm specs: no clash)
	for _, e := range t.Entries {
		rows := &goRows
		if e.IsClientNode() {
			rows = &jsRows
		}
		i, ok := at[e.Module]
		if !ok {
			i = len(*rows)
			at[e.Module] = i
			*rows = append(*rows, row{first: e, on: map[string]Entry{}})
		}
		(*rows)[i].on[e.K8sMinor] = e
	}
	var b strings.Builder
	writeGrid(&b, []string{"client-go", "module", "Kubernetes release"}, on, goRows, func(e Entry) []string {
		release := cmp.Or(e.K8sRelease, "–") // a pseudo-version measured on demand: placed by its date
		return []string{e.Label, "`" + e.Module + "`", release}
	})
	if len(jsRows) > 0 {
		b.WriteString("\n")
		writeGrid(&b, []string{find.ClientNodePackage, "probe"}, on, jsRows, func(e Entry) []string {
			return []string{strings.TrimPrefix(e.Module, find.ClientNodePackage+"@"), e.Label}
		})
	}
	var versions []string
	for _, m := range on {
		versions = append(versions, LatestOn(t.Entries, m))
	}
	fmt.Fprintf(&b, "\nEach verdict column is one Kubernetes minor: the worst verdict measured there, (n/m) = measured in n "+
		"of the m runs with a counted verdict, then the other verdicts measured; \"k uncounted\": runs merged before counts "+
		"were kept (a verdict without a count was seen only in them); \"k not judged\": runs that drew no verdict; "+
		"–: not measured on that minor. Token mode %s, TTL %d s; latest run on each minor: %s.\n",
		t.TokenMode, t.TTLSeconds, strings.Join(versions, ", "))
	t.measuredPerMinor(&b, on)
	t.kubernetesMarkdown(&b)
	return b.String()
}

// measuredPerMinor lists, per Kubernetes minor, the client versions measured there and
// in how many runs: scan judges a client on a minor from that minor's measurements alone,
// so a sparse minor judges few versions.
func (t Table) measuredPerMinor(b *strings.Builder, on []string) {
	b.WriteString("\n**Measured per Kubernetes minor** (×n: runs merged). `satoken scan` judges a client on a minor from that " +
		"minor's measurements alone, so a sparse minor judges few versions.\n\n")
	for _, m := range on {
		var runs []string
		for _, e := range t.Entries {
			if e.K8sMinor == m {
				runs = append(runs, fmt.Sprintf("%s ×%d", e.Label, e.Runs))
			}
		}
		fmt.Fprintf(b, "- %s: %s measured (%s)\n", m, measure.Count(len(runs), "version"), strings.Join(runs, ", "))
	}
}

// row is one client version in the Markdown table: its entries by Kubernetes minor.
type row struct {
	first Entry
	on    map[string]Entry
}

// writeGrid writes one Markdown table: the columns naming each row's client, then a
// verdict column per minor.
func writeGrid(b *strings.Builder, head, minors []string, rows []row, client func(Entry) []string) {
	for _, m := range minors {
		head = append(head, "verdict on "+m)
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range rows {
		cells := client(r.first)
		for _, m := range minors {
			cell := "–"
			if e, ok := r.on[m]; ok {
				cell = measuredCell(e)
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
}

// measuredCell shows an entry's verdicts, worst first, the worst in bold: each with how
// often it was measured of the runs that drew a counted verdict, e.g.
// "**FAILS_AFTER_EXPIRY** (6/6)", then the runs without a counted verdict.
func measuredCell(e Entry) string {
	judged := 0
	for _, n := range e.Counts {
		judged += n
	}
	var parts []string
	for i := len(e.Observed) - 1; i >= 0; i-- {
		v := e.Observed[i]
		part := string(v)
		if i == len(e.Observed)-1 {
			part = "**" + part + "**"
		}
		if n := e.Counts[v]; n > 0 {
			part += fmt.Sprintf(" (%d/%d)", n, judged)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		parts = append(parts, "**"+string(verdict.NotJudged)+"**")
	}
	if e.NotJudged > 0 {
		parts = append(parts, fmt.Sprintf("%d not judged", e.NotJudged))
	}
	if e.LegacyRuns > 0 {
		parts = append(parts, fmt.Sprintf("%d uncounted", e.LegacyRuns))
	}
	return strings.Join(parts, ", ")
}

// Markers delimit the generated table in the README.
const (
	readmeBegin = "<!-- verdict-table: generated by `make verdict-table`; do not edit -->\n"
	readmeEnd   = "<!-- /verdict-table -->\n"
)

// ReplaceInReadme puts the table's Markdown between the README's markers.
func (t Table) ReplaceInReadme(doc string) (string, error) {
	return report.ReplaceMarked(doc, readmeBegin, readmeEnd, t.Markdown())
}

// IsClientNode reports whether the entry measured a client-node version.
func (e Entry) IsClientNode() bool { return strings.HasPrefix(e.Module, find.ClientNodePackage+"@") }

// LatestOn is the Kubernetes version of the latest run on minor among entries: the latest
// finished, the newer patch of one report.
func LatestOn(entries []Entry, minor string) string {
	var latest *Entry
	for i, e := range entries {
		if e.K8sMinor != minor {
			continue
		}
		if latest == nil || e.MeasuredAt.After(latest.MeasuredAt) ||
			e.MeasuredAt.Equal(latest.MeasuredAt) && semver.Compare(e.K8sVersion, latest.K8sVersion) > 0 {
			latest = &entries[i]
		}
	}
	if latest == nil {
		return ""
	}
	return latest.K8sVersion
}
