package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

type runFlags struct {
	sessionFlags
	versions  string
	interval  time.Duration
	expect    string
	automount bool
}

func newRunCommand() *cobra.Command { return runCommand(&runFlags{}) }

// runCommand is `satoken run` with its flags bound to f.
func runCommand(f *runFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "run",
		Short: "Reproduce token expiry across the probe matrix (client-go, client-node) and report verdicts",
		Long: `Creates a kind cluster with short-lived ServiceAccount tokens (or, with --kubeconfig, uses
an existing cluster), deploys one probe per client library version (client-go, and
@kubernetes/client-node as js-<version>) with a projected token of --ttl, waits until every first token is past
exp + 60s validator leeway (and --settle after each first 401), restarts the probes that
are still failing, and writes report.json, report.md, junit.xml and timeline.svg to --out.

Exit codes: 0 every probe judged (and --expect met), 1 harness error or bad input,
3 a verdict missed --expect, 4 some probe could not be judged (NOT_JUDGED: the report
says why and what to do); 3 wins over 4.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	f.register(c, runClusterName, "projected token expirationSeconds (>= 10m)", 5*time.Minute, "keep watching a failing probe this long after its first 401", "out")
	c.Flags().StringVar(&f.versions, "versions", "all", "comma-separated probe labels (client-go v…, client-node js-…), or all, go, js")
	c.Flags().DurationVar(&f.interval, "interval", 5*time.Second, "probe call interval")
	c.Flags().StringVar(&f.expect, "expect", "", "label=VERDICT,... ; a mismatch fails the run (exit 3)")
	c.Flags().BoolVar(&f.automount, "automount", false, "use the default automounted token (3607 s requested, capped by --max-token-expiration) instead of --ttl")
	c.Flags().StringSliceVar(&f.target.pullSecrets, "pull-secret", nil, "with --kubeconfig: an image pull secret NAMESPACE/NAME, copied into each probe namespace (repeatable)")
	return c
}

// parseExpect parses "v0.15.7=RELOADS,v8.0.0=FAILS_AFTER_EXPIRY".
func parseExpect(s string) (map[string]verdict.Verdict, error) {
	out := map[string]verdict.Verdict{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		label, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || label == "" {
			return nil, fmt.Errorf("--expect %q: want label=VERDICT", part)
		}
		want := verdict.Verdict(strings.ToUpper(v))
		valid := false
		for _, known := range verdict.All {
			valid = valid || want == known
		}
		if !valid {
			return nil, fmt.Errorf("--expect %q: unknown verdict %q (known: %v)", part, v, verdict.All)
		}
		out[label] = want
	}
	return out, nil
}

// applyExpectations records each expectation's outcome.
func applyExpectations(rep *report.Report, want map[string]verdict.Verdict) {
	got := map[string]verdict.Verdict{}
	for _, res := range rep.Results {
		got[res.Probe.ClientGo] = res.Verdict
	}
	for label, w := range want {
		rep.Expectations = append(rep.Expectations, report.Expectation{ClientGo: label, Want: w, Got: got[label], Met: got[label] == w})
	}
}

// runExit is run's exit: missed expectations are broken; probes without a verdict, or
// expected ones that could not be judged, are not judged.
func runExit(rep *report.Report) error {
	var missed, unjudged []string
	for _, e := range rep.Expectations {
		switch {
		case e.Got == "":
			unjudged = append(unjudged, fmt.Sprintf("%s: expected %s, measured %s", e.ClientGo, e.Want, orNone(e.Got)))
		case !e.Met && e.Got != verdict.NotJudged:
			missed = append(missed, fmt.Sprintf("%s: expected %s, measured %s", e.ClientGo, e.Want, e.Got))
		}
	}
	for _, res := range rep.Results {
		if res.Verdict == verdict.NotJudged {
			unjudged = append(unjudged, fmt.Sprintf("%s: %s; %s", res.Probe.ClientGo, res.Reason, res.Hint))
		}
	}
	return outcomeExit(missed, unjudged)
}

func orNone(v verdict.Verdict) string {
	if v == "" {
		return "nothing (probe not in this run)"
	}
	return string(v)
}

func (f *runFlags) run(cmd *cobra.Command) error {
	log := phase.New()
	want, err := parseExpect(f.expect)
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	in := repro.Input{TTL: f.ttl, Automount: f.automount, Interval: f.interval, Settle: f.settle,
		OutDir: f.out, FixturesDir: filepath.Join(root, "fixtures"), Log: log}
	if err := in.Validate(); err != nil {
		return err
	}
	if err := f.validate(cmd, !f.automount, true); err != nil {
		return err
	}
	if f.automount && f.target.existing() {
		return fmt.Errorf("--automount needs a cluster whose apiserver caps tokens at 1h without extending them (satoken's own): an existing cluster may extend the kubelet's 3607 s tokens for a year; use --ttl")
	}
	selected, err := harness.SelectProbes(root, f.versions)
	if err != nil {
		return err
	}
	for label := range want {
		if !slices.ContainsFunc(selected, func(p probes.Probe) bool { return p.Label == label }) {
			return fmt.Errorf("--expect names %s, which is not among --versions", label)
		}
	}
	env, err := harness.Prepare(cmd.Context(), root, log)
	if err != nil {
		return err
	}
	// Probes before the cluster: a compile error should not cost a cluster.
	if in.Probes, err = env.BuildProbes(cmd.Context(), selected); err != nil {
		return err
	}
	rep, err := f.withTarget(cmd, env, func(t target.Target) (*report.Report, error) {
		in.Target = t
		rep, err := repro.Run(cmd.Context(), in)
		if rep != nil {
			applyExpectations(rep, want)
		}
		return rep, err
	})
	if err != nil {
		return err
	}
	return runExit(rep)
}
