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
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/repro"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// addonCheckFeature runs `satoken check`'s engine on one of fixtures/check's stand-in
// add-ons: our probe images deployed from plain manifests like any third party's, judged
// only from apiserver evidence, restarts and logs. mutate selects how the pods get short
// tokens, so both the admission policy and the manifest rewrite are exercised. want lists
// the outcomes the gate may reach; assess checks the pod's verdict.
func addonCheckFeature(manifest, mutate string, want []report.Outcome, assess func(*testing.T, report.Result)) features.Feature {
	name := strings.TrimSuffix(manifest, ".yaml")
	return features.New("add-on gate: "+name).
		WithLabel("scenario", "check").
		Assess("verdict", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			data, err := os.ReadFile(filepath.Join(provider.opts.FixturesDir, "check", manifest))
			require.NoError(t, err)
			objs, err := kube.Decode(data)
			require.NoError(t, err)
			require.NoError(t, check.Validate(objs))

			out := filepath.Join(artifactsDir, "check-"+name)
			rep, err := check.Run(ctx, check.Input{Target: provider.cluster.Target(), Manifests: objs, Load: check.Images(objs), Canary: canaryImage, Mutate: mutate,
				TTL: repro.MinTTL, Settle: 3 * time.Minute, OutDir: out, Log: hctx.Log})
			require.NoError(t, err)
			if mutate == check.MutatePolicy {
				assert.Contains(t, rep.TokenTTLBy, "MutatingAdmissionPolicy")
			} else {
				assert.Equal(t, "manifest rewrite", rep.TokenTTLBy)
			}
			outcome := rep.Decide()
			rep.Phases = hctx.Log.Timings()
			require.NoError(t, rep.WriteAll(out))
			t.Logf("report in %s:\n%s", out, rep.Markdown())
			require.Len(t, rep.Results, 1, "one add-on pod")
			p := rep.Results[0]
			require.NotNil(t, p.Workload)
			assert.NotEmpty(t, p.Workload.Owner)
			assert.Contains(t, want, outcome, "%s: %s", p.Verdict, p.Reason)
			switch outcome {
			case report.Passed:
				assert.Empty(t, check.Broken(rep))
				assert.Empty(t, check.Unjudged(rep))
			case report.Broken:
				broken := check.Broken(rep)
				require.Len(t, broken, 1)
				assert.Contains(t, broken[0], p.Pod, "the report names the pod")
			case report.NotJudged:
				assert.NotEmpty(t, p.Hint, "a pod not judged says what to do")
			}
			assess(t, p)
			return ctx
		}).
		Feature()
}

// The stand-in add-ons and what their gate must conclude.
func addonFeatures() []features.Feature {
	notPassed := []report.Outcome{report.Broken, report.NotJudged}
	return []features.Feature{
		addonCheckFeature("good-addon.yaml", check.MutatePolicy, []report.Outcome{report.Passed}, func(t *testing.T, p report.Result) {
			assert.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
			assert.Positive(t, p.RotationsSeen, "the audit log shows a second credential (JTI) for the pod")
		}),
		addonCheckFeature("bad-addon.yaml", check.MutateManifests, []report.Outcome{report.Broken}, func(t *testing.T, p report.Result) {
			assert.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
		}),
		// A v8-era controller that only holds an informer: no call between its watches,
		// which time out after 5-10 min. It must never pass.
		addonCheckFeature("watch-addon.yaml", check.MutateManifests, notPassed, func(t *testing.T, p report.Result) {
			assert.NotEqual(t, verdict.Reloads, p.Verdict, p.Reason)
		}),
		// A leader-elected controller renewing a Lease every 2 s (client-go v11.0.0): its
		// renewals are audited, and it must never pass.
		addonCheckFeature("lease-addon.yaml", check.MutateManifests, notPassed, func(t *testing.T, p report.Result) {
			assert.Positive(t, p.UnauthorizedCount, "its lease renewals got 401: %s", p.Reason)
		}),
	}
}
