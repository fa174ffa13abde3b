package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/mod/module"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/sh"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// TableSchemaVersion is bumped on incompatible changes to the table file.
const TableSchemaVersion = 1

// Table is the measured verdict per client-go version: the only source of predictions.
type Table struct {
	SchemaVersion int     `json:"schemaVersion"`
	Entries       []Entry `json:"entries"`
}

// Entry is one client-go version, measured in one or more matrix runs.
type Entry struct {
	Label      string          `json:"label"`  // e.g. v12.0.0
	Module     string          `json:"module"` // the exact client-go module version measured
	K8sRelease string          `json:"k8sRelease"`
	Verdict    verdict.Verdict `json:"verdict"` // the most severe of Observed
	// Observed lists every verdict the runs measured. Clients that re-read the token file
	// on a timer of their own land on either side of the kubelet's rotation with short
	// TTLs, so one version can be RELOADS in one run and INTERMITTENT in the next.
	Observed   []verdict.Verdict `json:"observed"`
	Runs       int               `json:"runs"`
	MeasuredAt time.Time         `json:"measuredAt"` // the latest run's finishedAt
	K8sVersion string            `json:"k8sVersion"` // the cluster's
	TTLSeconds int               `json:"ttlSeconds"`
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
func TableFromReports(reports ...*report.Report) Table {
	t := Table{SchemaVersion: TableSchemaVersion, Entries: []Entry{}}
	t.Add(reports...)
	return t
}

// Add merges more matrix runs into t. Probes without a verdict or a client-go version are
// left out; an NOT_JUDGED run (no verdict could be drawn) counts only where no run drew one.
func (t *Table) Add(reports ...*report.Report) {
	index := map[string]int{}
	for i, e := range t.Entries {
		index[e.Module] = i
	}
	for _, r := range reports {
		for _, p := range r.Probes {
			if p.Verdict == "" || (p.ClientGo == "" && p.ClientGoModule == "") {
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
			if !slices.Contains(e.Observed, p.Verdict) {
				e.Observed = append(e.Observed, p.Verdict)
			}
		}
	}
	for i := range t.Entries {
		e := &t.Entries[i]
		if len(e.Observed) > 1 {
			e.Observed = slices.DeleteFunc(e.Observed, func(v verdict.Verdict) bool { return v == verdict.NotJudged })
		}
		slices.SortFunc(e.Observed, func(a, b verdict.Verdict) int { return severity[a] - severity[b] })
		e.Verdict = e.Observed[len(e.Observed)-1]
	}
}

// ResolveModuleTimes fills the missing module times from `go list -m` (module cache or
// proxy). Entries it cannot resolve keep none; the error lists them.
func (t *Table) ResolveModuleTimes(ctx context.Context) error {
	var errs []error
	for i := range t.Entries {
		e := &t.Entries[i]
		if e.ModuleTime != nil || e.Module == "" {
			continue
		}
		// Outside any module, so this checkout's go.mod plays no part.
		out, err := sh.Run(ctx, sh.Cmd{Name: "go", Args: []string{"list", "-m", "-json", ClientGoPath + "@" + e.Module},
			Dir: os.TempDir(), Env: []string{"GOWORK=off"}})
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
	data, err := os.ReadFile(path)
	if err != nil {
		return Table{}, err
	}
	var t Table
	if err := json.Unmarshal(data, &t); err != nil {
		return Table{}, fmt.Errorf("%s: %w", path, err)
	}
	if t.SchemaVersion != TableSchemaVersion {
		return Table{}, fmt.Errorf("%s: schema version %d, want %d", path, t.SchemaVersion, TableSchemaVersion)
	}
	return t, nil
}

// Write stores the table as indented JSON (checked in, so diffs stay readable).
func (t Table) Write(path string) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
