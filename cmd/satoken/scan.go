package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/find"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/predict"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func newScanCommand() *cobra.Command { return newScanCommandWith((*runFlags).reproduce) }

// newScanCommandWith is satoken scan whose --measure runs each measurement with run.
func newScanCommandWith(run measurer) *cobra.Command {
	var tablePath, fingerprintsPath string
	var k8s []string
	var asJSON, allowNone bool
	var m scanMeasure
	c := &cobra.Command{
		Use:   "scan PATH|IMAGE ...",
		Short: "Find the Kubernetes client library in binaries, directories or local images and predict its token-expiry verdict",
		Long: `Finds the Kubernetes client library of each target — a binary or JavaScript file, a
directory, or every file of a local Docker image (never pulled: docker pull/build it
first) — and looks it up in the verdict table measured by ` + "`satoken run`" + `. An argument
naming an existing file or directory is scanned as such; anything else is an image
reference.

What is recognised: k8s.io/client-go in Go binaries, by the build info's module list (a
replace directive's version wins) or, without one, by function names, under any package
path ending in client-go (GOPATH vendor copies, renamed copies); @kubernetes/client-node
by the name in the package.json of any package under node_modules (npm aliases and
nested copies included), or by its in-cluster configuration code in a bundled .js file.

Predictions rest on measurements only. Each Kubernetes minor is judged from that minor's
entries alone: a measured version gets its measured verdict (the worst observed, with
counts); an unmeasured version strictly between two measured neighbours that agree is
predicted to do the same ("predicted, unmeasured"); anything else is not judged, with the
command that measures it — neighbours that disagree, a version older or newer than every
one measured there, a date-only pseudo-version without dated neighbours, a client-node
major version never measured (each major rewrote its HTTP layer). Tags are placed on the
Kubernetes release axis, date-only pseudo-versions by date.

Binaries without a module list (GOPATH-mode builds with a vendored client-go, as v8–v11
era controllers were built) or whose client-go version cannot be placed (a replace by a
local directory) are placed by function names: their rest and transport functions are
matched against fingerprints of the probe matrix (fixtures/scan/fingerprints.json); the
versions that declare every one of them are the candidates; a verdict they share on a
minor is the prediction there, candidates that disagree or are not judged leave it not
judged.

Not judged, whatever the table says: a fork (client-go replaced by another module path,
or its packages compiled in from another module), a bundle (it records no version), a
binary that cannot be read for a client (garble, UPX), and a target in which no
Kubernetes client is recognised at all — unless --allow-none says it does not talk to the
apiserver.

The gate decides on the minors named with --k8s (v1.34,v1.37; a vX.Y.Z also names the
version a missing measurement is taken on), by default on the minors where the client is
judged; the other minors' lines are shown as context. A pass means the client library
re-reads the token; the program's own use of it is not verified: run satoken check.

--measure runs, in this process, the command printed beside each client not judged on a
deciding minor: satoken run, one cluster per Kubernetes version with every such client
(cluster <--cluster>-<version>; --keep-cluster, --node-image, or an existing cluster with
--kubeconfig and --registry or --load), the table's token TTL, its report in
--out/k8s-<version>/report.json. Each report is merged into the table for this scan, as
scan table --from merges it (a report the table refuses is an error), every client is
judged again, and the gate decides from that: the lines a run measured say "measured (by
--measure, report PATH)". A run that fails is exit 1; a probe the run could not judge
leaves its line not judged, with the run's reason. Forks, bundles, unreadable binaries
and targets without a client have nothing to measure. The table file is left as it is
(--write-table FILE writes the merged table); the command that merges the runs into it is
printed.

Regenerate the table after a matrix run with
  satoken scan table --from out/report.json --write fixtures/verdict-table.json
(make verdict-table), the fingerprints with make scan-fingerprints.

Exit codes, from one outcome: 1 a target could not be scanned, or a --measure run failed
(takes precedence); 3 a client is (predicted to be) FAILS_AFTER_EXPIRY or INTERMITTENT on
a deciding minor (takes precedence over 4); 4 not judged: a client without a verdict on a
deciding minor or on any minor, a fork, a bundle, an unreadable binary, a target without
a recognised client; 0 every target has a client judged RELOADS on every deciding minor
(or --allow-none).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.validate(cmd); err != nil {
				return err
			}
			loaded, path, err := loadVerdictTable(tablePath)
			if err != nil {
				return err
			}
			tbl := predict.Table{Table: loaded}
			if len(k8s) > 0 {
				if tbl, err = tbl.DecideOn(k8s...); err != nil {
					return fmt.Errorf("--k8s: %w", err)
				}
			}
			fp, err := loadFingerprints(fingerprintsPath)
			if err != nil {
				return err
			}
			var targets []predict.Scanned
			for _, target := range args {
				found, err := scanTarget(cmd.Context(), target)
				targets = append(targets, predict.Scanned{Target: target, Findings: unjudged(found), Err: err})
			}
			judge(targets, tbl, fp, nil)
			var runs []predict.Measured
			if m.on {
				if runs, err = m.measure(cmd, &tbl.Table, targets); err != nil {
					return err
				}
				judge(targets, tbl, fp, runs)
			}
			gate := predict.Decide(predict.GateInput{Targets: targets, AllowNone: allowNone})
			merge := mergeCommand(path, tablePath == "", runs)
			if asJSON {
				err = printScanJSON(cmd.OutOrStdout(), path, targets, gate, runs, merge)
			} else {
				err = printScanTable(cmd.OutOrStdout(), targets, gate, runs, merge)
			}
			if err != nil {
				return err
			}
			return gateExit(gate)
		},
	}
	c.Flags().StringVar(&tablePath, "table", "", "verdict table (default <repo>/fixtures/verdict-table.json)")
	c.Flags().StringVar(&fingerprintsPath, "fingerprints", "", "function-name fingerprints (default <repo>/fixtures/scan/fingerprints.json)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the findings and the outcome as JSON")
	c.Flags().StringSliceVar(&k8s, "k8s", nil, "decide on these Kubernetes minors, vX.Y or vX.Y.Z, comma-separated or repeated; default: the minors where the client is judged")
	c.Flags().BoolVar(&allowNone, "allow-none", false, "the targets are not expected to talk to the apiserver: no recognised Kubernetes client (or an unreadable binary) passes")
	m.register(c, run)
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
			tbl, _ := table.FromReports()
			if merge != "" {
				loaded, err := table.Load(merge)
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
				if err := addReport(&tbl, f, rep); err != nil {
					return err
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
			var sources []predict.FingerprintSource
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
				sources = append(sources, predict.FingerprintSource{Label: label, From: target, Finding: found[0]})
			}
			fp, err := predict.BuildFingerprints(cmd.Context(), sources, predict.SourceDecls)
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

func loadVerdictTable(path string) (table.Table, string, error) {
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return table.Table{}, "", fmt.Errorf("no --table given: %w", err)
		}
		path = filepath.Join(root, "fixtures", "verdict-table.json")
	}
	tbl, err := table.Load(path)
	if err != nil {
		return table.Table{}, "", fmt.Errorf("verdict table: %w (generate it with: satoken scan table --from out/report.json --write %s)", err, path)
	}
	return tbl, path, nil
}

func loadFingerprints(path string) (predict.Fingerprints, error) {
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return predict.Fingerprints{}, fmt.Errorf("no --fingerprints given: %w", err)
		}
		path = filepath.Join(root, "fixtures", "scan", "fingerprints.json")
	}
	fp, err := predict.LoadFingerprints(path)
	if err != nil {
		return predict.Fingerprints{}, fmt.Errorf("fingerprints: %w (generate them with: make scan-fingerprints)", err)
	}
	return fp, nil
}

// judge judges every finding of the targets from tbl; after scan --measure's runs, it
// marks the lines they measured (predict.Judged.MarkMeasured).
func judge(targets []predict.Scanned, tbl predict.Table, fp predict.Fingerprints, runs []predict.Measured) {
	for i := range targets {
		for j := range targets[i].Findings {
			f := &targets[i].Findings[j]
			before := f.Prediction
			f.Judge(tbl, fp)
			f.MarkMeasured(before, runs)
		}
	}
}

// unjudged are a target's findings before judge predicts their verdicts.
func unjudged(found []find.Finding) []predict.Judged {
	out := make([]predict.Judged, len(found))
	for i, f := range found {
		out[i] = predict.Judged{Finding: f}
	}
	return out
}

// scanTarget treats an existing file as a binary or JavaScript file, an existing
// directory as a tree (see find.Image), and anything else as an image reference.
func scanTarget(ctx context.Context, target string) ([]find.Finding, error) {
	if st, err := os.Stat(target); err == nil && !st.IsDir() {
		return find.File(target)
	}
	return find.Image(ctx, target)
}

func printScanTable(out io.Writer, targets []predict.Scanned, gate predict.Gate, runs []predict.Measured, merge string) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TARGET\tFILE\tCLIENT LIBRARY\tKUBERNETES\tVERDICT\tBASIS")
	for _, t := range targets {
		if t.Err == nil && len(t.Findings) == 0 {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\tno Go binary, client-node package or bundle found\n", t.Target)
		}
		for _, f := range t.Findings {
			file := cmp.Or(f.File, "-")
			switch {
			case f.Opaque != "":
				fmt.Fprintf(w, "%s\t%s\tunknown\t-\t-\tcannot be read for a client: %s\n", f.Target, file, f.Opaque)
				continue
			case f.Prediction == nil:
				fmt.Fprintf(w, "%s\t%s\tnone\t-\t-\tno Kubernetes client recognised in it\n", f.Target, file)
				continue
			}
			// One line per Kubernetes minor: a client can fare differently on each.
			for _, p := range f.Prediction.Lines() {
				minor := cmp.Or(p.K8sMinor, "-")
				if p.Context {
					minor += " (context, not deciding)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Target, file, clientGoCell(f.Finding), minor, p.Verdict, predictionBasis(p))
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	printMeasured(out, runs, merge)
	if gate.Outcome == report.Passed {
		for _, n := range gate.Notes {
			fmt.Fprintln(out, "passed: "+n)
		}
	}
	return nil
}

func clientGoCell(f find.Finding) string {
	m := f.ClientGo
	switch {
	case f.ClientGoBy == find.FromBundle:
		return find.ClientNodePackage + " bundled, version unknown"
	case f.IsClientNode():
		return find.ClientNodeModule(m.Version)
	case f.ClientGoBy == find.FromSymbols && len(f.ClientGoAt) > 0:
		return "by symbols, at " + strings.Join(f.ClientGoAt, ", ")
	case f.ClientGoBy == find.FromSymbols:
		return "by symbols"
	case m.Replace != nil:
		return strings.TrimSpace(fmt.Sprintf("%s => %s %s", m.Version, m.Replace.Path, m.Replace.Version))
	}
	return m.Version
}

func predictionBasis(p predict.Prediction) string {
	if p.Verdict != verdict.NotJudged && p.Verdict != "" {
		return p.Reason // measured (runs, counts, date), predicted between agreeing neighbours, or from symbols
	}
	basis := "not judged: " + p.Reason
	if p.Measure != "" {
		basis += "; measure it: " + p.Measure
	}
	return basis
}

func printScanJSON(w io.Writer, tablePath string, targets []predict.Scanned, gate predict.Gate, runs []predict.Measured, merge string) error {
	out := struct {
		Table    string           `json:"table"`
		Findings []predict.Judged `json:"findings"`
		// Measured are scan --measure's runs, Merge the command that keeps them.
		Measured []predict.Measured `json:"measured,omitempty"`
		Merge    string             `json:"merge,omitempty"`
		predict.Gate
	}{Table: tablePath, Findings: []predict.Judged{}, Measured: runs, Merge: merge, Gate: gate}
	for _, t := range targets {
		out.Findings = append(out.Findings, t.Findings...)
	}
	return printJSON(w, out)
}

// gateExit is scan's exit, derived from the gate's outcome alone.
func gateExit(g predict.Gate) error {
	why := map[report.Outcome][]string{report.Broken: g.Broken, report.NotJudged: g.NotJudged, report.Failed: g.Errors}
	return exitFor(g.Outcome, why[g.Outcome])
}
