package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Entry is one probe of a matrix run.
type Entry struct {
	Label      string          `json:"label"`  // e.g. v12.0.0
	Module     string          `json:"module"` // the exact client-go module version measured
	K8sRelease string          `json:"k8sRelease"`
	Verdict    verdict.Verdict `json:"verdict"`
	MeasuredAt time.Time       `json:"measuredAt"` // the run's finishedAt
	K8sVersion string          `json:"k8sVersion"` // the cluster's
	TTLSeconds int             `json:"ttlSeconds"`
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

// TableFromReport turns a report's probes into table entries; probes without a verdict or
// a client-go version are left out.
func TableFromReport(r *report.Report) Table {
	t := Table{SchemaVersion: TableSchemaVersion, Entries: []Entry{}}
	for _, p := range r.Probes {
		if p.Verdict == "" || (p.ClientGo == "" && p.ClientGoModule == "") {
			continue
		}
		e := Entry{Label: p.ClientGo, Module: p.ClientGoModule, K8sRelease: p.K8sRelease, Verdict: p.Verdict,
			MeasuredAt: r.FinishedAt, K8sVersion: r.K8sVersion, TTLSeconds: r.TTLSeconds}
		if module.IsPseudoVersion(e.Module) {
			if ts, err := module.PseudoVersionTime(e.Module); err == nil {
				e.ModuleTime = &ts
			}
		}
		t.Entries = append(t.Entries, e)
	}
	return t
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
