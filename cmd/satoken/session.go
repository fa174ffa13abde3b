package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/artifacts"
	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// sessionFlags are what `run` and `check` share: a cluster made for the job (or an
// existing one), a token TTL, how long to keep watching, and where the report goes.
type sessionFlags struct {
	cluster     clusterFlags
	target      targetFlags
	ttl         time.Duration
	settle      time.Duration
	out         string
	keepCluster bool
}

func (f *sessionFlags) register(c *cobra.Command, clusterName, ttlUsage string, settle time.Duration, settleUsage, out string) {
	f.cluster.register(c, clusterName)
	f.target.register(c)
	c.Flags().DurationVar(&f.ttl, "ttl", target.StockTTL, ttlUsage)
	c.Flags().DurationVar(&f.settle, "settle", settle, settleUsage)
	c.Flags().StringVar(&f.out, "out", out, "directory for the report and artifacts")
	c.Flags().BoolVar(&f.keepCluster, "keep-cluster", false, "leave the cluster running afterwards")
}

// accelerate applies --fast's defaults (target.AcceleratedTTL and AcceleratedSettle) to
// the flags the user left alone.
func (f *sessionFlags) accelerate(cmd *cobra.Command) {
	if !f.cluster.image.fast {
		return
	}
	if !cmd.Flags().Changed("ttl") {
		f.ttl = target.AcceleratedTTL
	}
	if !cmd.Flags().Changed("settle") {
		f.settle = target.AcceleratedSettle
	}
}

// minTTL is the shortest --ttl the cluster's apiserver will accept.
func (f *sessionFlags) minTTL() time.Duration {
	if f.cluster.image.fast {
		return nodeimage.AcceleratedMinTTL
	}
	return target.StockMinTTL
}

// validate checks the flags before any slow work; probeImages: the command ships images
// of its own.
func (f *sessionFlags) validate(cmd *cobra.Command, checkTTL, probeImages bool) error {
	if f.cluster.image.fast && f.target.existing() {
		return fmt.Errorf("--fast makes satoken's own accelerated cluster; an existing cluster (--kubeconfig) keeps its apiserver's 10-minute minimum")
	}
	if checkTTL {
		if min := f.minTTL(); f.ttl < min {
			hint := ""
			if !f.cluster.image.fast {
				hint = fmt.Sprintf(" (--fast: down to %s on an accelerated control plane)", nodeimage.AcceleratedMinTTL)
			}
			return fmt.Errorf("--ttl %s: a projected token's expirationSeconds must be at least %s%s", f.ttl, min, hint)
		}
		// An existing cluster's maximum is unknown: a cap shows in the tokens' claims.
		if !f.target.existing() && f.ttl > f.cluster.maxExpiry {
			return fmt.Errorf("--ttl %s exceeds --max-token-expiration %s: the apiserver would cap it", f.ttl, f.cluster.maxExpiry)
		}
	}
	if f.settle < verdict.MinSettle {
		return fmt.Errorf("--settle %s: a failure needs at least %s of refusals to be told from a slow reload", f.settle, verdict.MinSettle)
	}
	if err := f.target.validate(cmd, probeImages); err != nil {
		return err
	}
	if f.target.existing() {
		if f.target.auditLog != "" {
			if _, err := os.Stat(f.target.auditLog); err != nil {
				return fmt.Errorf("--audit-log: %w", err)
			}
		}
		_, err := f.target.target()
		return err
	}
	_, err := f.cluster.options()
	return err
}

// withTarget runs job on the cluster and writes the report. Without --kubeconfig it
// creates the kind cluster first, exports its logs when the job failed or was
// interrupted, and deletes it afterwards (unless --keep-cluster); an existing cluster is
// left as it was found (the job deletes its namespaces). The job's error wins over a
// report-writing error.
func (f *sessionFlags) withTarget(cmd *cobra.Command, env *harness.Env, stdout io.Writer, job func(target.Target) (*report.Report, error)) (*report.Report, error) {
	var rep *report.Report
	var err error
	if f.target.existing() {
		var t target.Target
		if t, err = f.target.target(); err != nil {
			return nil, err
		}
		rep, err = job(t)
	} else {
		cl, upErr := f.cluster.up(cmd, env)
		if upErr != nil {
			return nil, upErr
		}
		rep, err = job(cl.Target())
		if err != nil || cmd.Context().Err() != nil {
			exportLogs(env.Log, cl, f.out)
		}
		teardown(env.Log, cl, f.keepCluster)
	}
	if rep != nil {
		switch {
		case cmd.Context().Err() != nil:
			rep.Error = stopReason(cmd.Context())
		case err != nil:
			rep.Error = err.Error()
		}
		rep.Decide()
		if werr := writeReport(stdout, env.Log, rep, f.out); werr != nil && err == nil {
			err = werr
		}
	}
	return rep, err
}

func exportLogs(log *phase.Recorder, cl *cluster.Cluster, out string) {
	dir := filepath.Join(out, "kind-logs")
	if err := cl.ExportLogs(dir); err != nil {
		log.Printf("warning: kind export logs: %v", err)
		return
	}
	log.Printf("cluster logs exported to %s", dir)
}

// teardown deletes the cluster unless asked to keep it; it runs on success, failure and
// Ctrl-C alike.
func teardown(log *phase.Recorder, cl *cluster.Cluster, keep bool) {
	if keep {
		log.Printf("keeping cluster %q (kubeconfig %s); delete it with: satoken cluster down --cluster %s", cl.Name, cl.Kubeconfig(), cl.Name)
		return
	}
	_ = log.Run("delete cluster "+cl.Name, cl.Down)
}

// writeReport writes every report format, refuses to leave a bearer token in any
// artifact, and prints the verdict table to stdout. The log's phases come first: a
// matrix report already holds its clusters'.
func writeReport(stdout io.Writer, log *phase.Recorder, rep *report.Report, out string) error {
	rep.Phases = append(log.Timings(), rep.Phases...)
	if err := rep.WriteAll(out); err != nil {
		return err
	}
	leaks, err := artifacts.ScanForTokens(out)
	if err != nil {
		return err
	}
	if len(leaks) > 0 {
		return fmt.Errorf("bearer-token-shaped strings in artifacts (%v): remove them before sharing %s", leaks, out)
	}
	fmt.Fprintln(stdout, rep.Markdown())
	log.Printf("report: %s", filepath.Join(out, "report.json"))
	return nil
}
