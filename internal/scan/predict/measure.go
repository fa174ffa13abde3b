package predict

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Measurement is a `satoken run` that would judge clients not judged on one Kubernetes
// minor: the probes Versions (run --versions) on a cluster of Kubernetes K8s.
type Measurement struct {
	K8s      string   `json:"k8s"` // "" when the table measured nothing on Minor: no patch to run is known
	Minor    string   `json:"minor"`
	Versions []string `json:"versions"`
}

// Command is the measurement as typed.
func (m Measurement) Command() string {
	return fmt.Sprintf("satoken run --k8s %s --versions %s", cmp.Or(m.K8s, m.Minor+".<patch>"), strings.Join(m.Versions, ","))
}

// Measurements are the runs that would judge the findings where the gate finds them not
// judged (their gateLines: context lines do not decide, so they are not measured), one per
// Kubernetes version with each probe once, oldest version first. Findings without a
// measurement (forks, bundles, unreadable binaries, no client) are not in them. A line on
// a minor the table measured nothing on names no Kubernetes version to run: an error.
func Measurements(findings []Judged) ([]Measurement, error) {
	var runs []Measurement
	for _, f := range findings {
		if f.Prediction == nil {
			continue
		}
		for _, l := range f.Prediction.gateLines() {
			m := l.measurement
			if m == nil {
				continue
			}
			if m.K8s == "" {
				return nil, fmt.Errorf("the table measured nothing on Kubernetes %s, so no version of it to measure on is known: name one with --k8s %s.Z", m.Minor, m.Minor)
			}
			i := slices.IndexFunc(runs, func(r Measurement) bool { return r.K8s == m.K8s })
			if i < 0 {
				runs = append(runs, Measurement{K8s: m.K8s, Minor: m.Minor})
				i = len(runs) - 1
			}
			for _, v := range m.Versions {
				if !slices.Contains(runs[i].Versions, v) {
					runs[i].Versions = append(runs[i].Versions, v)
				}
			}
		}
	}
	slices.SortFunc(runs, func(a, b Measurement) int { return semver.Compare(a.K8s, b.K8s) })
	return runs, nil
}

// Measured is a measurement that ran and whose report was merged into the table.
type Measured struct {
	Measurement
	Path   string         `json:"report"` // its report.json
	Report *report.Report `json:"-"`
}

// MarkMeasured marks the lines of f's prediction that the runs measured: each line that
// had a measurement in before (f's prediction before the runs were merged into the table)
// names the report of the run on its Kubernetes version (MeasuredBy, and in its reason);
// one the run left not judged says why, from the run's own results.
func (f *Judged) MarkMeasured(before *Prediction, runs []Measured) {
	if before == nil || f.Prediction == nil {
		return
	}
	for _, b := range before.gateLines() {
		if b.measurement == nil {
			continue
		}
		i := slices.IndexFunc(runs, func(r Measured) bool { return r.K8s == b.measurement.K8s })
		if i < 0 {
			continue
		}
		for _, l := range f.Prediction.lineRefs() {
			if l.K8sMinor != b.K8sMinor {
				continue
			}
			l.MeasuredBy = runs[i].Path
			mark := "measured (by --measure, report " + runs[i].Path + ")"
			if l.Verdict == verdict.NotJudged {
				mark += ", still not judged: " + runs[i].why(b.measurement.Versions, l.K8sMinor)
			}
			l.Reason = mark + "; " + l.Reason
		}
	}
}

// why says what the run measured of the probes labelled labels, for a line on minor it
// left not judged.
func (r Measured) why(labels []string, minor string) string {
	var parts []string
	for _, label := range labels {
		i := slices.IndexFunc(r.Report.Results, func(res report.Result) bool { return res.Probe != nil && res.Probe.ClientGo == label })
		if i < 0 {
			parts = append(parts, label+" has no result in the run")
			continue
		}
		res := r.Report.Results[i]
		switch on, _ := table.K8sMinor(res.K8sVersion); {
		case on != minor:
			parts = append(parts, fmt.Sprintf("%s was measured on Kubernetes %s, not on %s", label, res.K8sVersion, minor))
		case res.Verdict == verdict.NotJudged:
			text := fmt.Sprintf("%s %s in the run: %s", label, res.Verdict, res.Reason)
			if res.Hint != "" {
				text += " (" + res.Hint + ")"
			}
			parts = append(parts, text)
		default:
			parts = append(parts, fmt.Sprintf("%s %s in the run", label, res.Verdict))
		}
	}
	return strings.Join(parts, "; ")
}
