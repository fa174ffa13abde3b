package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func newScanCommand() *cobra.Command {
	var tablePath, fingerprintsPath, k8s string
	var asJSON bool
	c := &cobra.Command{
		Use:   "scan PATH|IMAGE ...",
		Short: "Find the client-go version in binaries or local images and predict their token-expiry verdict",
		Long: `Reads the Go build info of each target — a binary, or every ELF executable in a local
Docker image (never pulled: docker pull/build it first) — reports the k8s.io/client-go
version compiled in (a replace directive's version wins) and looks it up in the verdict
table measured by ` + "`satoken run`" + `: a measured version gets its measured verdict, any
other ("unmeasured") version the worse verdict of its nearest measured neighbours on the
Kubernetes release axis (date-only pseudo-versions by date). An argument naming an
existing file is a binary; anything else is an image reference.

The table keeps each Kubernetes minor's measurements apart: a client is judged on each
minor the table measured, one line per minor, and the worst of them decides the exit
code. --k8s vX.Y judges on that minor only: a minor the table measured nothing on gives
not judged.

Binaries without a module list (GOPATH-mode builds with a vendored client-go, as v8–v11
era controllers were built) or whose client-go version cannot be placed (a replace by a
local directory) are read by function names instead: Go keeps them in every binary,
stripped ones included. Their rest and transport functions are matched against
fingerprints of the probe matrix (fixtures/scan/fingerprints.json): the versions that
declare every one of them are the candidates; a verdict they share is the prediction
("from symbols"); candidates that disagree leave it not judged, naming each one's verdict.

Regenerate the table after a matrix run with
  satoken scan table --from out/report.json --write fixtures/verdict-table.json
(make verdict-table), the fingerprints with make scan-fingerprints.

Exit codes: 1 a target could not be scanned (takes precedence over the rest);
3 some finding is (predicted to be) FAILS_AFTER_EXPIRY or INTERMITTENT on some minor
(takes precedence over 4); 4 a binary links client-go but no verdict can be predicted for
it on some minor (not judged);
0 otherwise: every target scanned, and every client-go found has a prediction that is
neither FAILS_AFTER_EXPIRY nor INTERMITTENT.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tbl, path, err := loadVerdictTable(tablePath)
			if err != nil {
				return err
			}
			if k8s != "" {
				minor, err := scan.K8sMinor(k8s)
				if err != nil {
					return fmt.Errorf("--k8s: %w", err)
				}
				tbl = tbl.OnMinor(minor)
			}
			fp, err := loadFingerprints(fingerprintsPath)
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
					found[i].Judge(tbl, fp)
				}
				results = append(results, scanResult{target, found})
			}
			if asJSON {
				err = printScanJSON(cmd.OutOrStdout(), path, results, errs)
			} else {
				err = printScanTable(cmd.OutOrStdout(), results)
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
	c.Flags().StringVar(&fingerprintsPath, "fingerprints", "", "function-name fingerprints (default <repo>/fixtures/scan/fingerprints.json)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	c.Flags().StringVar(&k8s, "k8s", "", "judge on this Kubernetes minor only, vX.Y (a vX.Y.Z names its minor); default: every minor measured, the worst decides")
	c.AddCommand(newScanTableCommand(), newScanFingerprintsCommand())
	return c
}

func newScanTableCommand() *cobra.Command {
	var from []string
	var write, merge, readme string
	c := &cobra.Command{
		Use:   "table --from REPORT.json [--from REPORT.json ...] [--write FILE]",
		Short: "Generate the verdict table from matrix runs' report.json files",
		Long: `Merges the probes of one or more report.json files into the verdict table satoken scan
predicts from (an entry per client version and Kubernetes minor, the minor of the
cluster each result was measured on; every verdict a version was measured with is kept
and counted; the worst is its verdict; NOT_JUDGED probes are counted apart, not as
measurements), printed to stdout or written to --write. Reports of runs that ended
early, of another token mode or TTL than the table's, or whose results do not name their
Kubernetes version, are refused. Module dates of tagged versions (used to place
date-only pseudo-versions) come from ` + "`go list -m`" + `; when that fails the table is still
written, with a warning.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(from) == 0 && merge == "" {
				return fmt.Errorf("give --from REPORT.json (and/or --merge TABLE to re-render an existing table)")
			}
			tbl, _ := scan.TableFromReports()
			if merge != "" {
				loaded, err := scan.LoadTable(merge)
				if err != nil {
					return err
				}
				tbl = loaded
			}
			for _, f := range from {
				rep, err := report.Load(f)
				if err != nil {
					return err
				}
				if err := tbl.Add(rep); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
			}
			if len(tbl.Entries) == 0 {
				return fmt.Errorf("%v: no probe with a client-go version and a verdict", from)
			}
			if err := tbl.ResolveModuleTimes(cmd.Context()); err != nil {
				fmt.Fprintf(os.Stderr, "warning: %v\n", err)
			}
			if write == "" {
				return printJSON(cmd.OutOrStdout(), tbl)
			}
			if err := tbl.Write(write); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s (%d entries)\n", write, len(tbl.Entries))
			if readme == "" {
				return nil
			}
			doc, err := os.ReadFile(readme)
			if err != nil {
				return err
			}
			updated, err := tbl.ReplaceInReadme(string(doc))
			if err != nil {
				return fmt.Errorf("--readme %s: %w", readme, err)
			}
			return os.WriteFile(readme, []byte(updated), 0o644)
		},
	}
	c.Flags().StringSliceVar(&from, "from", nil, "report.json of a matrix run (repeatable)")
	c.Flags().StringVar(&write, "write", "", "write the table to this file instead of stdout")
	c.Flags().StringVar(&readme, "readme", "", "also regenerate the measured table between the markers of this README")
	c.Flags().StringVar(&merge, "merge", "", "add the reports to this existing table (e.g. the checked-in one) instead of starting anew")
	return c
}

func newScanFingerprintsCommand() *cobra.Command {
	var from []string
	var write string
	c := &cobra.Command{
		Use:   "fingerprints --from IMAGE|BINARY [--from ...] [--write FILE]",
		Short: "Generate the function-name fingerprints of client-go versions from probe binaries",
		Long: `Reads the client-go rest and transport function names each probe binary (or the one Go
binary in each probe image) links, and records for each name which of these client-go
versions declare it — read from each version's source in the Go module cache, since a
binary lacking a function only means its program did not call it. satoken scan places
binaries without module info by these fingerprints. Versions are labelled as in
apps/probe/versions.json. make scan-fingerprints regenerates
fixtures/scan/fingerprints.json from the probe images.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			labels := map[string]string{} // client-go module → matrix label
			if root, err := repoRoot(); err == nil {
				if all, err := probes.Load(root); err == nil {
					for _, p := range all {
						labels[p.Module] = p.Label
					}
				}
			}
			var sources []scan.FingerprintSource
			for _, target := range from {
				found, err := scanTarget(cmd.Context(), target)
				if err != nil {
					return err
				}
				if len(found) != 1 {
					return fmt.Errorf("%s: %d Go binaries, want the one probe binary", target, len(found))
				}
				label := labels[found[0].ClientGoVersion()]
				if label == "" {
					label = found[0].ClientGoVersion()
				}
				sources = append(sources, scan.FingerprintSource{Label: label, From: target, Finding: found[0]})
			}
			fp, err := scan.BuildFingerprints(cmd.Context(), sources, scan.SourceDecls)
			if err != nil {
				return err
			}
			if write == "" {
				return printJSON(cmd.OutOrStdout(), fp)
			}
			if err := fp.Write(write); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s (%d versions, %d functions)\n", write, len(fp.Versions), len(fp.Functions))
			return nil
		},
	}
	c.Flags().StringSliceVar(&from, "from", nil, "probe image or binary, one per client-go version (required, repeatable)")
	c.Flags().StringVar(&write, "write", "", "write the fingerprints to this file instead of stdout")
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

func loadFingerprints(path string) (scan.Fingerprints, error) {
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return scan.Fingerprints{}, fmt.Errorf("no --fingerprints given: %w", err)
		}
		path = filepath.Join(root, "fixtures", "scan", "fingerprints.json")
	}
	fp, err := scan.LoadFingerprints(path)
	if err != nil {
		return scan.Fingerprints{}, fmt.Errorf("fingerprints: %w (generate them with: make scan-fingerprints)", err)
	}
	return fp, nil
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

func printScanTable(out io.Writer, results []scanResult) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TARGET\tFILE\tCLIENT LIBRARY\tKUBERNETES\tVERDICT\tBASIS")
	for _, r := range results {
		if len(r.findings) == 0 {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\tno Go binary or client-node package found\n", r.target)
		}
		for _, f := range r.findings {
			file := f.File
			if file == "" {
				file = "-"
			}
			if f.Prediction == nil {
				fmt.Fprintf(w, "%s\t%s\t%s\t-\t-\tdoes not link client-go\n", f.Target, file, clientGoCell(f))
				continue
			}
			// One line per Kubernetes minor: a client can fare differently on each.
			for _, p := range f.Prediction.Lines() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Target, file, clientGoCell(f), cmp.Or(p.K8sMinor, "-"), p.Verdict, predictionBasis(p))
			}
		}
	}
	return w.Flush()
}

func clientGoCell(f scan.Finding) string {
	m := f.ClientGo
	switch {
	case m == nil:
		return "none"
	case f.IsClientNode():
		return scan.ClientNodeModule(m.Version)
	case f.ClientGoBy == scan.FromSymbols && f.VendorPrefix != "":
		return "by symbols, vendored under " + f.VendorPrefix
	case f.ClientGoBy == scan.FromSymbols:
		return "by symbols"
	case m.Replace != nil:
		return strings.TrimSpace(fmt.Sprintf("%s => %s %s", m.Version, m.Replace.Path, m.Replace.Version))
	}
	return m.Version
}

func predictionBasis(p scan.Prediction) string {
	switch {
	case p.Verdict == verdict.NotJudged || p.Verdict == "":
		return "not judged: " + p.Reason
	case p.FromSymbols:
		return p.Reason
	case !p.Predicted:
		return p.Reason // the measurement: runs, counts, date
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
		return "unmeasured: predicted from neighbours " + strings.Join(names, ", ") + ", which disagree: the worse, uncertain"
	case len(names) == 1:
		return "unmeasured: predicted from neighbour " + names[0] + " (outside the measured range)"
	}
	return "unmeasured: predicted from neighbours " + strings.Join(names, ", ")
}

func printScanJSON(w io.Writer, tablePath string, results []scanResult, errs []error) error {
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
	return printJSON(w, out)
}

// gateFindings fails with exitGate when a client is (predicted to be) broken by expiry,
// else with exitNotJudged when a binary links client-go without a prediction.
func gateFindings(results []scanResult) error {
	var all []scan.Finding
	for _, r := range results {
		all = append(all, r.findings...)
	}
	return outcomeExit(scan.Outcome(all))
}
