//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/harness"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/scan/table"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// gracePeriodFeature: with the apiserver's default token extension on, nothing breaks for a
// year; the only signal is the stale-token audit annotation after 3607 s. The harness must
// name the workloads that would break when the grace period ends: old probes, not new ones.
func gracePeriodFeature() features.Feature {
	return features.New("grace period: stale-token annotations name the clients that would break").
		WithLabel("scenario", "long").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s := suiteOf(ctx)
			o, err := harness.ClusterOptions(s.hctx.Root, clusterName+"-grace")
			require.NoError(t, err)
			// As on a real cluster: extension on and a maximum above the kubelet's 3607 s
			// request (a 1h maximum would cap it first, and capped tokens are not extended).
			o.NodeImage, o.ExtendTokenExpiration, o.MaxTokenExpiration = s.stockImage, true, 24*time.Hour
			gc, err := cluster.Up(ctx, o, s.hctx.Log)
			require.NoError(t, err)
			t.Cleanup(func() { // however the feature ends
				if os.Getenv("SATOKEN_KEEP_CLUSTER") == "" {
					assert.NoError(t, gc.Down())
				}
			})
			return withState(ctx, gc)
		}).
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s, gc := suiteOf(ctx), stateOf[*cluster.Cluster](ctx, t)
			kc, err := kube.New(gc.Kubeconfig(), "")
			require.NoError(t, err)
			var images []string
			for _, b := range s.built {
				images = append(images, b.Image)
			}
			require.NoError(t, gc.LoadImages(ctx, images...))
			d, err := repro.NewDeployer(ctx, kc, s.provider.opts.FixturesDir, repro.PodSettings{Automount: true, Interval: interval})
			require.NoError(t, err)
			for _, b := range s.built {
				_, err := d.Deploy(ctx, b, repro.NamespaceFor(b.Probe.Label), "probe", false)
				require.NoError(t, err)
			}
			// Past the 3607 s the kubelet asked for, plus time for every old client to call.
			wait := repro.AutomountTTL + 2*time.Minute
			for end := time.Now().Add(wait); time.Now().Before(end); {
				s.hctx.Log.Printf("waiting for tokens to pass their 3607 s warn-after point: %s left", time.Until(end).Round(time.Second))
				select {
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				case <-time.After(min(5*time.Minute, time.Until(end))):
				}
			}
			events, err := audit.ReadFile(gc.AuditLog())
			require.NoError(t, err)
			g := &graceRun{kc: kc, stale: audit.StaleTokens(events)}
			g.metric, g.found, err = kc.Metric(ctx, "serviceaccount_stale_tokens_total")
			require.NoError(t, err)

			out := filepath.Join(s.artifactsDir, "grace")
			require.NoError(t, os.MkdirAll(out, 0o755))
			data, _ := json.MarshalIndent(map[string]any{"staleTokenUses": g.stale, "serviceaccount_stale_tokens_total": g.metric}, "", "  ")
			require.NoError(t, os.WriteFile(filepath.Join(out, "stale-tokens.json"), data, 0o644))
			for _, u := range g.stale {
				t.Logf("would break when the grace period ends: %s/%s (pod %s, %d stale requests: %s)", u.Namespace, u.ServiceAccount, u.Pod, u.Requests, u.Annotation)
			}
			return withState(ctx, g)
		}).
		Assess("stale tokens are attributed to the old clients only", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s, g := suiteOf(ctx), stateOf[*graceRun](ctx, t)
			staleNS := map[string]bool{}
			for _, u := range g.stale {
				staleNS[u.Namespace] = true
			}
			// Cross-check against the measured verdict table (an independent measurement, on
			// clusters without extension): clients that kept their first token in every
			// run must be listed, clients that always reloaded must not. Clients measured
			// both ways re-read on a timer of their own and may land either side.
			tbl, err := table.Load(filepath.Join(s.provider.opts.FixturesDir, "verdict-table.json"))
			require.NoError(t, err)
			sv, err := g.kc.Typed.Discovery().ServerVersion()
			require.NoError(t, err)
			minor, err := table.K8sMinor(sv.GitVersion)
			require.NoError(t, err)
			measured := map[string][]verdict.Verdict{} // on this cluster's minor only
			for _, e := range tbl.Entries {
				if e.K8sMinor == minor {
					measured[e.Label] = e.Observed
				}
			}
			checked := 0
			for _, b := range s.built {
				label := b.Probe.Label
				switch observed := measured[label]; {
				case slices.Equal(observed, []verdict.Verdict{verdict.FailsAfterExpiry}):
					assert.True(t, staleNS[repro.NamespaceFor(label)], "%s (always %s when measured) is listed", label, verdict.FailsAfterExpiry)
					checked++
				case slices.Equal(observed, []verdict.Verdict{verdict.Reloads}):
					assert.False(t, staleNS[repro.NamespaceFor(label)], "%s (always %s when measured) is not listed", label, verdict.Reloads)
					checked++
				}
			}
			assert.True(t, staleNS[repro.NamespaceFor(oldestLabel)], "%s is listed", oldestLabel)
			assert.GreaterOrEqual(t, checked, len(s.built)/2, "most probes have a consistent measured verdict to check against")
			return ctx
		}).
		Assess("the apiserver counts the stale uses in serviceaccount_stale_tokens_total", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := stateOf[*graceRun](ctx, t)
			assert.True(t, g.found, "the apiserver exposes serviceaccount_stale_tokens_total")
			assert.Positive(t, g.metric, "serviceaccount_stale_tokens_total counts the stale uses")
			return ctx
		}).
		Feature()
}

// graceRun is what the grace cluster showed once its tokens passed their warn-after point.
type graceRun struct {
	kc     *kube.Client
	stale  []audit.StaleUse
	metric float64
	found  bool
}
