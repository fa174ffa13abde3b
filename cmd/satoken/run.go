package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/host"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/session"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

type runFlags struct {
	sessionFlags
	parallel   int
	versions   string
	interval   time.Duration
	expect     string
	automount  bool
	crossCheck bool
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
	f.register(c, runClusterName, "projected token expirationSeconds (>= 10m)", target.StockSettle, "keep watching a failing probe this long after its first 401", "out")
	c.Flags().IntVar(&f.parallel, "parallel", 1, "with --k8s naming several versions: clusters at once (each needs about 3 GiB)")
	c.Flags().StringVar(&f.versions, "versions", "all", "comma-separated probe labels (client-go v…, client-node js-…), or all, go, js; "+unpinnedHelp)
	c.Flags().DurationVar(&f.interval, "interval", 5*time.Second, "probe call interval")
	c.Flags().StringVar(&f.expect, "expect", "", "label=VERDICT,... ; a mismatch fails the run (exit 3)")
	c.Flags().BoolVar(&f.automount, "automount", false, "use the default automounted token (3607 s requested, capped by --max-token-expiration) instead of --ttl")
	c.Flags().BoolVar(&f.crossCheck, "cross-check", false, "with --fast: a stock cluster (its own --ttl 10m, --settle 5m) beside each accelerated one, the same probes on both, and every verdict compared in the report")
	c.Flags().StringSliceVar(&f.target.pullSecrets, "pull-secret", nil, "with --kubeconfig: an image pull secret NAMESPACE/NAME, copied into each probe namespace (repeatable)")
	return c
}

// unpinnedHelp says how --versions takes versions the matrix does not pin.
const unpinnedHelp = "a client-go module version (tag or pseudo-version) or js-<client-node version> not pinned is resolved " +
	"(Go module proxy, npm) and built on demand, its generated files cached"

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
	k8s := ""
	if len(rep.Clusters) == 1 {
		k8s = rep.Clusters[0].K8sVersion
	}
	for _, label := range slices.Sorted(maps.Keys(want)) {
		w := want[label]
		rep.Expectations = append(rep.Expectations, report.Expectation{ClientGo: label, K8sVersion: k8s, Want: w, Got: got[label], Met: got[label] == w})
	}
}

// runExit is run's exit, from the report's one outcome (report.Decide): missed
// expectations are broken; probes without a verdict, or expected ones that could not be
// judged, are not judged.
func runExit(rep *report.Report) error { return exitFor(rep.Decide(), rep.Why()) }

func (f *runFlags) run(cmd *cobra.Command) error {
	rep, err := f.reproduce(cmd)
	if err != nil {
		return err
	}
	return runExit(rep)
}

// reproduce runs what the flags describe and returns the report it wrote to --out (a
// matrix's combined one): run exits from it, scan --measure merges it into its table.
func (f *runFlags) reproduce(cmd *cobra.Command) (*report.Report, error) {
	log := phase.New()
	f.accelerate(cmd)
	want, err := parseExpect(f.expect)
	if err != nil {
		return nil, err
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	in := repro.Input{TTL: f.ttl, MinTTL: f.minTTL(), Automount: f.automount, Interval: f.interval, Settle: f.settle,
		OutDir: f.out, FixturesDir: filepath.Join(root, "fixtures"), Log: log}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if f.cluster.image.k8sVersion == "all" {
		vs, err := nodeimage.VerifiedVersions()
		if err != nil {
			return nil, fmt.Errorf("--k8s all: %w", err)
		}
		log.Printf("--k8s all: %s (verified on this host's cgroup version)", strings.Join(vs, ", "))
		f.cluster.image.k8sVersion = strings.Join(vs, ",")
	}
	parts, err := f.parts()
	if err != nil {
		return nil, err
	}
	if f.crossCheck {
		if parts, err = f.crossCheckParts(cmd, parts); err != nil {
			return nil, err
		}
	}
	for i := range parts {
		if err := parts[i].validate(cmd, !f.automount, true); err != nil {
			return nil, err
		}
	}
	if f.automount && f.target.existing() {
		return nil, fmt.Errorf("--automount needs a cluster whose apiserver caps tokens at 1h without extending them (satoken's own): an existing cluster may extend the kubelet's 3607 s tokens for a year; use --ttl")
	}
	selected, err := harness.SelectProbes(root, f.versions)
	if err != nil {
		return nil, err
	}
	for label := range want {
		if !slices.ContainsFunc(selected, func(p probes.Probe) bool { return p.Label == label }) {
			return nil, fmt.Errorf("--expect names %s, which is not among --versions", label)
		}
	}
	if err := checkParallel(f.parallel, len(parts)); err != nil {
		return nil, err
	}
	env, err := harness.Prepare(cmd.Context(), root, log)
	if err != nil {
		return nil, err
	}
	// Probes before the cluster: a compile error should not cost a cluster.
	if in.Probes, err = env.BuildProbes(cmd.Context(), selected); err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		return parts[0].runOn(cmd, env, in, want, cmd.OutOrStdout())
	}
	return f.matrix(cmd, env, in, want, parts)
}

// crossCheckParts puts a stock cluster beside each accelerated one (named -stock and
// -fast, reports in k8s-<version>-stock and -fast), all side by side unless --parallel
// says otherwise.
func (f *runFlags) crossCheckParts(cmd *cobra.Command, parts []sessionFlags) ([]sessionFlags, error) {
	switch {
	case !f.cluster.image.fast:
		return nil, fmt.Errorf("--cross-check compares an accelerated cluster with stock: give --fast")
	case f.automount:
		return nil, fmt.Errorf("--cross-check with --automount: automounted tokens live an hour on both; nothing is accelerated")
	case f.target.existing():
		return nil, fmt.Errorf("--cross-check makes its own clusters; --kubeconfig names an existing one")
	case f.cluster.image.nodeImage != "":
		return nil, fmt.Errorf("--cross-check builds the stock and accelerated node images of --k8s; --node-image names one image")
	}
	var out []sessionFlags
	for _, p := range parts {
		suffix := p.cluster.image.version()
		if p.cluster.image.source != nil {
			suffix = "source"
		}
		for _, fast := range []bool{false, true} {
			q := p.part(suffix + map[bool]string{false: "-stock", true: "-fast"}[fast])
			q.cluster.image = p.cluster.image
			q.cluster.image.fast = fast
			if !fast {
				q.ttl, q.settle = target.StockTTL, target.StockSettle // whatever --fast chose
			}
			out = append(out, q)
		}
	}
	if !cmd.Flags().Changed("parallel") {
		f.parallel = len(out)
	}
	return out, nil
}

// runOn reproduces on one cluster (made for it, or the existing one) and writes its
// report to p.out.
func (p sessionFlags) runOn(cmd *cobra.Command, env *harness.Env, in repro.Input, want map[string]verdict.Verdict, stdout io.Writer) (*report.Report, error) {
	in.OutDir, in.Log = p.out, env.Log
	in.TTL, in.Settle, in.MinTTL = p.ttl, p.settle, p.minTTL()
	if !p.target.existing() {
		p.cluster.preload = func() (map[string]v1.Image, error) { return repro.Images(in.Probes) }
	}
	return p.withTarget(cmd, env, stdout, func(t target.Target) (*report.Report, error) {
		in.Target = t
		rep, err := repro.Run(cmd.Context(), in)
		if rep != nil {
			applyExpectations(rep, want)
		}
		return rep, err
	})
}

// parts are the clusters of the run: the one cluster, or one per --k8s version plus one
// of the --k8s-source tree (a matrix), each named after its version and writing its
// report into out/k8s-<version> (out/k8s-source).
func (f *runFlags) parts() ([]sessionFlags, error) {
	var versions []string
	for _, v := range strings.Split(f.cluster.image.k8sVersion, ",") {
		if v = strings.TrimSpace(v); v != "" {
			if slices.Contains(versions, v) {
				return nil, fmt.Errorf("--k8s names %s twice", v)
			}
			versions = append(versions, v)
		}
	}
	source := f.cluster.image.k8sSource != ""
	if n := len(versions); n == 0 || (n == 1 && !source) {
		one := f.sessionFlags
		one.cluster.image.k8sVersion = strings.Join(versions, "")
		return []sessionFlags{one}, nil
	}
	if f.cluster.image.nodeImage != "" {
		return nil, fmt.Errorf("--node-image is one node image, --k8s names %d versions: give one of them", len(versions))
	}
	var parts []sessionFlags
	for _, v := range versions {
		p := f.part(v)
		p.cluster.image.k8sVersion = v
		parts = append(parts, p)
	}
	if source {
		p := f.part("source")
		p.cluster.image.k8sSource, p.cluster.image.k8sSourceVersion = f.cluster.image.k8sSource, f.cluster.image.k8sSourceVersion
		parts = append(parts, p)
	}
	return parts, nil
}

// part is f for one cluster of several: named after suffix (its Kubernetes version, or
// "source") and writing its report into out/k8s-<suffix>; which Kubernetes it runs is
// the caller's to set.
func (f *sessionFlags) part(suffix string) sessionFlags {
	p := *f
	p.cluster.image.k8sVersion, p.cluster.image.k8sSource, p.cluster.image.k8sSourceVersion = "", "", ""
	p.cluster.name = f.cluster.name + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(suffix)
	p.out = filepath.Join(f.out, "k8s-"+suffix)
	return p
}

// clusterMemory is what one satoken cluster with the full probe matrix was seen to use
// (the kind node's container, docker stats), with room to spare.
const clusterMemory = 3 << 30

// checkParallel refuses more clusters at once than there are versions, or than the
// host's available memory holds.
func checkParallel(n, parts int) error {
	switch {
	case n < 1:
		return fmt.Errorf("--parallel %d: want at least 1", n)
	case n > 1 && parts == 1:
		return fmt.Errorf("--parallel %d: only one cluster to run (give --k8s several versions)", n)
	case n > parts:
		return fmt.Errorf("--parallel %d: only %d clusters to run", n, parts)
	case n == 1:
		return nil
	}
	avail, err := host.MemAvailable()
	if err != nil {
		return fmt.Errorf("--parallel %d: cannot tell the available memory: %w", n, err)
	}
	if need := uint64(n) * clusterMemory; avail < need {
		return fmt.Errorf("--parallel %d: %d clusters need about %.0f GiB, %.1f GiB is available: run fewer at once", n, n, float64(need)/(1<<30), float64(avail)/(1<<30))
	}
	return nil
}

// matrix runs the reproduction on one cluster per Kubernetes version, --parallel at a
// time, and writes the combined report into out. One version failing does not stop the
// others; its error is in the report and returned.
func (f *runFlags) matrix(cmd *cobra.Command, env *harness.Env, in repro.Input, want map[string]verdict.Verdict, parts []sessionFlags) (*report.Report, error) {
	// Node images one after another, before any cluster: two cold builds at once would
	// starve each other, and a build failure should cost no cluster.
	for _, p := range parts {
		if _, err := p.cluster.image.image(cmd.Context(), env); err != nil {
			return nil, err
		}
	}
	reps := make([]*report.Report, len(parts))
	errs := make([]error, len(parts))
	sem := make(chan struct{}, f.parallel)
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if cmd.Context().Err() != nil {
				errs[i] = cmd.Context().Err()
				reps[i] = report.PartFailed("run", report.Cluster{K8sVersion: p.cluster.image.version(), Name: p.cluster.name}, time.Now().UTC(), errs[i])
				return
			}
			partEnv := *env
			partEnv.Log = &phase.Recorder{Out: env.Log.Out, Prefix: "[" + strings.TrimPrefix(filepath.Base(p.out), "k8s-") + "] "}
			started := time.Now().UTC()
			reps[i], errs[i] = p.runOn(cmd, &partEnv, in, want, io.Discard)
			if reps[i] == nil {
				reps[i] = report.PartFailed("run", report.Cluster{K8sVersion: p.cluster.image.version(), Name: p.cluster.name}, started, errs[i])
			}
		}()
	}
	wg.Wait()
	rep := report.Combine(reps)
	if f.crossCheck {
		rep.CrossCheck = report.CrossCheck(rep)
	}
	if err := session.Write(rep, session.Output{Out: f.out, Log: env.Log, Stdout: cmd.OutOrStdout()}); err != nil {
		return nil, err
	}
	return rep, errors.Join(errs...)
}
