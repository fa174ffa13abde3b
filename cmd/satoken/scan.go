package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func newScanCommand() *cobra.Command {
	var tablePath string
	var asJSON bool
	c := &cobra.Command{
		Use:   "scan PATH|IMAGE ...",
		Short: "Find the client-go version in binaries or local images and predict their token-expiry verdict",
		Long: `Reads the Go build info of each target — a binary, or every ELF executable in a local
Docker image (never pulled: docker pull/build it first) — reports the k8s.io/client-go
version compiled in (a replace directive's version wins) and looks it up in the verdict
table measured by ` + "`satoken run`" + `: a measured version gets its measured verdict, any
other version the verdict of its nearest measured neighbours on the Kubernetes release
axis (date-only pseudo-versions by date). An argument naming an existing file is a
binary; anything else is an image reference.

Regenerate the table after a matrix run with
  satoken scan table --from out/report.json --write fixtures/verdict-table.json
(make verdict-table).

Exit codes: 0 every target scanned and no finding is FAILS_AFTER_EXPIRY or INTERMITTENT,
1 a target could not be scanned (takes precedence), 3 some finding is (predicted to be)
FAILS_AFTER_EXPIRY or INTERMITTENT, so CI can gate on it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tbl, path, err := loadVerdictTable(tablePath)
			if err != nil {
				return err
			}
			var results []scanResult
			var errs []error
			for _, target := range args {
				found, err := scanTarget(cmd.Context(), target)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for i := range found {
					if found[i].ClientGo != nil {
						p := scan.Predict(tbl, found[i].ClientGoVersion())
						found[i].Prediction = &p
					}
				}
				results = append(results, scanResult{target, found})
			}
			if asJSON {
				err = printScanJSON(path, results, errs)
			} else {
				err = printScanTable(results)
			}
			if err != nil {
				return err
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			return gateFindings(results)
		},
	}
	c.Flags().StringVar(&tablePath, "table", "", "verdict table (default <repo>/fixtures/verdict-table.json)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	c.AddCommand(newScanTableCommand())
	return c
}

func newScanTableCommand() *cobra.Command {
	var from []string
	var write, merge string
	c := &cobra.Command{
		Use:   "table --from REPORT.json [--from REPORT.json ...] [--write FILE]",
		Short: "Generate the verdict table from matrix runs' report.json files",
		Long: `Merges the probes of one or more report.json files into the verdict table satoken scan
predicts from (every verdict a version was measured with is kept; the worst is its
verdict), printed to stdout or written to --write. Module dates of tagged versions (used to place
date-only pseudo-versions) come from ` + "`go list -m`" + `; when that fails the table is still
written, with a warning.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var reps []*report.Report
			for _, f := range from {
				rep, err := report.Load(f)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
			}
			tbl := scan.TableFromReports()
			if merge != "" {
				loaded, err := scan.LoadTable(merge)
				if err != nil {
					return err
				}
				tbl = loaded
			}
			tbl.Add(reps...)
			if len(tbl.Entries) == 0 {
				return fmt.Errorf("%v: no probe with a client-go version and a verdict", from)
			}
			if err := tbl.ResolveModuleTimes(cmd.Context()); err != nil {
				fmt.Fprintf(os.Stderr, "warning: %v\n", err)
			}
			if write == "" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(tbl)
			}
			if err := tbl.Write(write); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s (%d entries)\n", write, len(tbl.Entries))
			return nil
		},
	}
	c.Flags().StringSliceVar(&from, "from", nil, "report.json of a matrix run (required, repeatable)")
	c.Flags().StringVar(&write, "write", "", "write the table to this file instead of stdout")
	c.Flags().StringVar(&merge, "merge", "", "add the reports to this existing table (e.g. the checked-in one) instead of starting anew")
	_ = c.MarkFlagRequired("from")
	return c
}

type scanResult struct {
	target   string
	findings []scan.Finding
}

func loadVerdictTable(path string) (scan.Table, string, error) {
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return scan.Table{}, "", fmt.Errorf("no --table given: %w", err)
		}
		path = filepath.Join(root, "fixtures", "verdict-table.json")
	}
	tbl, err := scan.LoadTable(path)
	if err != nil {
		return scan.Table{}, "", fmt.Errorf("verdict table: %w (generate it with: satoken scan table --from out/report.json --write %s)", err, path)
	}
	return tbl, path, nil
}

// scanTarget treats an existing file as a binary and anything else as an image reference.
func scanTarget(ctx context.Context, target string) ([]scan.Finding, error) {
	if st, err := os.Stat(target); err == nil && !st.IsDir() {
		f, err := scan.ClientGo(target)
		if err != nil {
			return nil, err
		}
		return []scan.Finding{f}, nil
	}
	return scan.Image(ctx, target)
}

func printScanTable(results []scanResult) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TARGET\tFILE\tCLIENT-GO\tVERDICT\tBASIS")
	for _, r := range results {
		if len(r.findings) == 0 {
			fmt.Fprintf(w, "%s\t-\t-\t-\tno Go binary in the image\n", r.target)
		}
		for _, f := range r.findings {
			file := f.File
			if file == "" {
				file = "-"
			}
			verdictCell, basis := "-", "does not link client-go"
			if p := f.Prediction; p != nil {
				verdictCell, basis = string(p.Verdict), predictionBasis(*p)
				if p.Verdict == "" {
					verdictCell = "?"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Target, file, clientGoCell(f.ClientGo), verdictCell, basis)
		}
	}
	return w.Flush()
}

func clientGoCell(m *scan.Module) string {
	switch {
	case m == nil:
		return "none"
	case m.Replace != nil:
		return strings.TrimSpace(fmt.Sprintf("%s => %s %s", m.Version, m.Replace.Path, m.Replace.Version))
	}
	return m.Version
}

func predictionBasis(p scan.Prediction) string {
	switch {
	case p.Verdict == "":
		return "cannot predict: " + p.Reason
	case !p.Predicted:
		return "measured"
	}
	var names []string
	for _, e := range p.Neighbours {
		if p.Uncertain {
			names = append(names, fmt.Sprintf("%s (%s)", e.Label, e.Verdict))
		} else {
			names = append(names, e.Label)
		}
	}
	switch {
	case p.Uncertain:
		return "predicted from neighbours " + strings.Join(names, ", ") + ", which disagree: uncertain"
	case len(names) == 1:
		return "predicted from neighbour " + names[0] + " (outside the measured range)"
	}
	return "predicted from neighbours " + strings.Join(names, ", ")
}

func printScanJSON(tablePath string, results []scanResult, errs []error) error {
	out := struct {
		Table    string         `json:"table"`
		Findings []scan.Finding `json:"findings"`
		Errors   []string       `json:"errors"`
	}{Table: tablePath, Findings: []scan.Finding{}, Errors: []string{}}
	for _, r := range results {
		out.Findings = append(out.Findings, r.findings...)
	}
	for _, err := range errs {
		out.Errors = append(out.Errors, err.Error())
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// gateFindings fails with exitGate when a client is (predicted to be) broken by expiry.
func gateFindings(results []scanResult) error {
	var bad []string
	for _, r := range results {
		for _, f := range r.findings {
			if p := f.Prediction; p != nil && (p.Verdict == verdict.FailsAfterExpiry || p.Verdict == verdict.Intermittent) {
				bad = append(bad, fmt.Sprintf("%s %s: %s", strings.TrimSpace(f.Target+" "+f.File), f.ClientGoVersion(), p.Verdict))
			}
		}
	}
	if len(bad) > 0 {
		return &exitError{code: exitGate, err: fmt.Errorf("clients that do not survive token expiry: %s", strings.Join(bad, "; "))}
	}
	return nil
}
