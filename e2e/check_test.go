//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/satoken-e2e/satoken-e2e/internal/check"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// addonCheckFeature runs `satoken check`'s engine on one of fixtures/check's stand-in
// add-ons: our probe images deployed from plain manifests like any third party's, judged
// only from apiserver evidence, restarts and logs. mutate selects how the pods get short
// tokens, so both the admission policy and the manifest rewrite are exercised.
func addonCheckFeature(manifest string, survives bool, mutate string) features.Feature {
	name := strings.TrimSuffix(manifest, ".yaml")
	return features.New("add-on gate: "+name).
		WithLabel("scenario", "check").
		Assess("verdict", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			data, err := os.ReadFile(filepath.Join(provider.opts.FixturesDir, "check", manifest))
			require.NoError(t, err)
			objs, err := kube.Decode(data)
			require.NoError(t, err)
			require.NoError(t, check.Validate(objs))
			require.NoError(t, provider.cluster.LoadImages(ctx, check.Images(objs)...))

			out := filepath.Join(artifactsDir, "check-"+name)
			rep, err := check.Run(ctx, check.Input{Cluster: provider.cluster, Manifests: objs, Mutate: mutate,
				TTL: repro.MinTTL, Settle: 3 * time.Minute, OutDir: out, Log: hctx.Log})
			require.NoError(t, err)
			if mutate == check.MutatePolicy {
				assert.Contains(t, rep.TokenTTLBy, "MutatingAdmissionPolicy")
			} else {
				assert.Equal(t, "manifest rewrite", rep.TokenTTLBy)
			}
			rep.Phases = hctx.Log.Timings()
			require.NoError(t, rep.WriteAll(out))
			t.Logf("report in %s:\n%s", out, rep.Markdown())
			require.Len(t, rep.Probes, 1, "one add-on pod")
			p := rep.Probes[0]
			assert.Equal(t, "Deployment/addon", p.Workload)
			if survives {
				assert.True(t, rep.Passed, "the good add-on passes the gate")
				assert.Empty(t, check.Broken(rep))
				assert.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
				assert.Positive(t, p.RotationsSeen, "the audit log shows a second credential (JTI) for the pod")
			} else {
				assert.False(t, rep.Passed, "the bad add-on fails the gate")
				broken := check.Broken(rep)
				require.Len(t, broken, 1)
				assert.Contains(t, broken[0], p.Pod, "the report names the pod")
				assert.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
			}
			return ctx
		}).
		Feature()
}
