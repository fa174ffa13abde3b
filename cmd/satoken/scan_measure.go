package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/predict"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
)

// measurer runs one measurement of scan --measure: (*runFlags).reproduce, satoken run's
// own code, or a test's stand-in.
type measurer func(f *runFlags, runCmd *cobra.Command) (*report.Report, error)

// sharedRunFlags are the flags of satoken run that scan --measure takes as they are: where
// the clusters run. --k8s stays scan's (the deciding minors), and the token TTL is the
// table's.
var sharedRunFlags = []string{"cluster", "keep-cluster", "node-image", "kubeconfig", "context", "registry", "load"}

// scanMeasure is scan --measure. Its flags are satoken run's (runCmd's, bound to flags, so
// run's defaults and checks apply as given to scan): each measurement is the run
// `satoken run --k8s V --versions ...` does.
type scanMeasure struct {
	on         bool
	writeTable string
	flags      runFlags
	runCmd     *cobra.Command
	run        measurer
}

func (m *scanMeasure) register(c *cobra.Command, run measurer) {
	m.run = run
	m.runCmd = runCommand(&m.flags)
	for _, name := range sharedRunFlags {
		c.Flags().AddFlag(m.runCmd.Flags().Lookup(name))
	}
	// Clusters of its own name: a waiting run's are never replaced.
	m.flags.cluster.name, m.runCmd.Flags().Lookup("cluster").DefValue = scanClusterName, scanClusterName
	c.Flags().BoolVar(&m.on, "measure", false, "run the measurement of every client not judged on a deciding minor (satoken run, one cluster per Kubernetes version), then judge again from the table with the runs merged")
	c.Flags().StringVar(&m.flags.out, "out", "out/scan-measure", "with --measure: directory of the runs' reports, k8s-<version>/report.json")
	c.Flags().StringVar(&m.writeTable, "write-table", "", "with --measure: write the table with the runs merged to this file (the table itself is never modified otherwise)")
}

// validate refuses measurement flags without --measure: they would do nothing.
func (m *scanMeasure) validate(cmd *cobra.Command) error {
	if m.on {
		return nil
	}
	for _, name := range append([]string{"out", "write-table"}, sharedRunFlags...) {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s applies to --measure", name)
		}
	}
	return nil
}

// measure runs the measurements that would judge the targets' clients where they are not
// judged (predict.Measurements), one satoken run per Kubernetes version into
// --out/k8s-<version>, and merges each report into tbl as scan table --from does (then
// --write-table). A run that fails, or whose report the table refuses, is an error: no
// verdict may rest on it.
func (m *scanMeasure) measure(cmd *cobra.Command, tbl *table.Table, targets []predict.Scanned) ([]predict.Measured, error) {
	var found []predict.Judged
	for _, t := range targets {
		found = append(found, t.Findings...)
	}
	plan, err := predict.Measurements(found)
	if err != nil {
		return nil, fmt.Errorf("--measure: %w", err)
	}
	if len(plan) > 1 && (m.flags.cluster.image.nodeImage != "" || m.flags.target.existing()) {
		var versions []string
		for _, pm := range plan {
			versions = append(versions, pm.K8s)
		}
		return nil, fmt.Errorf("--measure: the clients not judged need %d Kubernetes versions (%s), and --node-image or --kubeconfig gives one: name one minor with --k8s",
			len(plan), strings.Join(versions, ", "))
	}
	m.runCmd.SetContext(cmd.Context())
	m.runCmd.SetOut(cmd.ErrOrStderr()) // scan's stdout is its table or JSON
	var runs []predict.Measured
	for _, pm := range plan {
		f := m.flags
		f.sessionFlags = m.flags.part(pm.K8s)
		f.cluster.image.k8sVersion, f.versions = pm.K8s, strings.Join(pm.Versions, ",")
		if tbl.TTLSeconds > 0 { // the table's tokens: it refuses runs of others
			f.ttl, f.automount = time.Duration(tbl.TTLSeconds)*time.Second, tbl.TokenMode == "automount"
		}
		rep, err := m.run(&f, m.runCmd)
		if err != nil {
			return nil, fmt.Errorf("--measure: %s: %w", pm.Command(), err)
		}
		path := filepath.Join(f.out, "report.json")
		if err := addReport(tbl, path, rep); err != nil {
			return nil, fmt.Errorf("--measure: %w", err)
		}
		runs = append(runs, predict.Measured{Measurement: pm, Path: path, Report: rep})
	}
	if len(runs) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "--measure: no client lacks a verdict that a run would give on a deciding minor: nothing to measure")
	} else if err := tbl.ResolveModuleTimes(cmd.Context()); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
	}
	if m.writeTable != "" {
		if err := tbl.Write(m.writeTable); err != nil {
			return nil, err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d entries)\n", m.writeTable, len(tbl.Entries))
	}
	return runs, nil
}

// addReport merges the report read from (or written to) path into tbl; a report the table
// refuses is an error naming it.
func addReport(tbl *table.Table, path string, rep *report.Report) error {
	if err := tbl.Add(rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// mergeCommand merges the runs' reports into the table as make verdict-table does (the
// repository's own table with its README's copy, which must match it).
func mergeCommand(table string, checkedIn bool, runs []predict.Measured) string {
	if len(runs) == 0 {
		return ""
	}
	table = shown(table)
	c := "satoken scan table --merge " + table
	for _, r := range runs {
		c += " --from " + shown(r.Path)
	}
	c += " --write " + table
	if checkedIn {
		c += " --readme " + shown(filepath.Join(filepath.Dir(table), "..", "README.md"))
	}
	return c
}

// shown is path relative to the working directory when it lies below it, as one types it.
func shown(path string) string {
	wd, err := os.Getwd()
	if err != nil || !filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// printMeasured says which runs measured what, and how to keep them.
func printMeasured(w io.Writer, runs []predict.Measured, merge string) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintln(w, "measured by --measure (merged into the table for this scan only; each line they measured says so):")
	for _, r := range runs {
		fmt.Fprintf(w, "  %s: report %s\n", r.Command(), r.Path)
	}
	fmt.Fprintln(w, "merge them into the table with:\n  "+merge)
}
