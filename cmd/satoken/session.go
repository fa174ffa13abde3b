package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/nodeimage"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/session"
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

// withTarget runs job where the flags say (satoken's own cluster, or --kubeconfig's) as
// one session lifecycle (session.Lifecycle) and writes the report to --out.
func (f *sessionFlags) withTarget(cmd *cobra.Command, env *harness.Env, stdout io.Writer, job func(target.Target) (*report.Report, error)) (*report.Report, error) {
	where := session.Where{Keep: f.keepCluster, Up: func() (session.OwnCluster, error) { return f.cluster.up(cmd, env) }}
	if f.target.existing() {
		t, err := f.target.target()
		if err != nil {
			return nil, err
		}
		where.Existing = &t
	}
	return session.Lifecycle(cmd.Context(), session.LifecycleInput{Where: where, Job: job,
		Output: session.Output{Out: f.out, Log: env.Log, Stdout: stdout}})
}
