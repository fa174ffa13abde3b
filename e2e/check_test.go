//go:build e2e

package e2e

import (
	"context"
	"fmt"
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
	"github.com/satoken-e2e/satoken-e2e/internal/session"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// addonCheck is one of fixtures/check's stand-in add-ons and what its gate must conclude.
type addonCheck struct {
	manifest string
	mutate   string           // how the pods get short tokens (both ways are exercised)
	extra    []string         // images the add-on starts that its manifests do not name (an operator's operands)
	want     []report.Outcome // the outcomes the gate may reach
	assess   func(*testing.T, *report.Report)
	claim    string // what assess asserts of this add-on's pods
}

// addonCheckFeature runs `satoken check`'s engine on a stand-in add-on in its Setup: our
// probe images deployed from plain manifests like any third party's, judged only from
// apiserver evidence, restarts and logs; one Assess per claim reads the report.
func addonCheckFeature(a addonCheck) features.Feature {
	name := strings.TrimSuffix(a.manifest, ".yaml")
	return features.New("add-on gate: "+name).
		WithLabel("scenario", "check").
		Setup(exportLogsIfStopped(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s := suiteOf(ctx)
			data, err := os.ReadFile(filepath.Join(s.provider.opts.FixturesDir, "check", a.manifest))
			require.NoError(t, err)
			objs, err := kube.Decode(data)
			require.NoError(t, err)
			require.NoError(t, check.Validate(objs))

			out := filepath.Join(s.artifactsDir, "check-"+name)
			rep, err := check.Run(ctx, check.Input{Target: s.provider.cluster.Target(), Manifests: objs, Load: append(check.Images(objs), a.extra...), Canary: s.canaryImage, Mutate: a.mutate,
				TTL: tokenTTL(), Settle: settleFor(3 * time.Minute), OutDir: out, Log: s.hctx.Log})
			require.NoError(t, err)
			require.NoError(t, session.Finish(ctx, rep, err, session.Output{Out: out, Log: s.hctx.Log}))
			t.Logf("report in %s:\n%s", out, rep.Markdown())
			return withState(ctx, rep)
		})).
		Assess("the pods' tokens are shortened the way asked", onReport(func(_ context.Context, t *testing.T, rep *report.Report) {
			if a.mutate == check.MutatePolicy {
				assert.Contains(t, rep.TokenTTLBy, "MutatingAdmissionPolicy")
			} else {
				assert.Equal(t, "manifest rewrite", rep.TokenTTLBy)
			}
		})).
		Assess("every pod is judged or says what to do", onReport(func(_ context.Context, t *testing.T, rep *report.Report) {
			require.NotEmpty(t, rep.Results)
			for _, p := range rep.Results {
				require.NotNil(t, p.Workload)
				if p.Verdict == verdict.NotJudged {
					assert.NotEmpty(t, p.Hint, "a pod not judged says what to do: %s", p.Pod)
				}
			}
		})).
		Assess(fmt.Sprintf("the gate ends in one of %v and its report agrees", a.want), onReport(func(_ context.Context, t *testing.T, rep *report.Report) {
			outcome := rep.Outcome
			assert.Contains(t, a.want, outcome, "%s", rep.Why())
			switch outcome {
			case report.Passed:
				assert.Empty(t, check.Broken(rep))
				assert.Empty(t, check.Unjudged(rep))
			case report.Broken:
				assert.NotEmpty(t, check.Broken(rep), "the report names the broken pods")
			}
		})).
		Assess(a.claim, onReport(func(_ context.Context, t *testing.T, rep *report.Report) { a.assess(t, rep) })).
		Feature()
}

// only is the one pod an add-on of one replica runs.
func only(t *testing.T, rep *report.Report) report.Result {
	require.Len(t, rep.Results, 1, "one add-on pod")
	require.NotEmpty(t, rep.Results[0].Workload.Owner)
	return rep.Results[0]
}

// The stand-in add-ons and what their gate must conclude.
func addonFeatures() []features.Feature {
	notPassed := []report.Outcome{report.Broken, report.NotJudged}
	var fs []features.Feature
	for _, a := range []addonCheck{
		{manifest: "good-addon.yaml", mutate: check.MutatePolicy, want: []report.Outcome{report.Passed}, assess: func(t *testing.T, rep *report.Report) {
			p := only(t, rep)
			assert.Equal(t, verdict.Reloads, p.Verdict, p.Reason)
			assert.Positive(t, p.RotationsSeen, "the audit log shows a second credential (JTI) for the pod")
		}, claim: "its pod reloads: a second credential is audited"},
		{manifest: "bad-addon.yaml", mutate: check.MutateManifests, want: []report.Outcome{report.Broken}, assess: func(t *testing.T, rep *report.Report) {
			p := only(t, rep)
			assert.Equal(t, verdict.FailsAfterExpiry, p.Verdict, p.Reason)
			assert.Contains(t, check.Broken(rep)[0], p.Pod, "the report names the pod")
		}, claim: "its pod fails after expiry and the report names it"},
		// A v8-era controller that only holds an informer: no call between its watches,
		// which time out after 5-10 min. It must never pass.
		{manifest: "watch-addon.yaml", mutate: check.MutateManifests, want: notPassed, assess: func(t *testing.T, rep *report.Report) {
			p := only(t, rep)
			assert.NotEqual(t, verdict.Reloads, p.Verdict, p.Reason)
		}, claim: "the informer-only controller does not reload"},
		// A leader-elected controller renewing a Lease every 2 s (client-go v11.0.0): its
		// renewals are audited, and it must never pass.
		{manifest: "lease-addon.yaml", mutate: check.MutateManifests, want: notPassed, assess: func(t *testing.T, rep *report.Report) {
			p := only(t, rep)
			assert.Positive(t, p.UnauthorizedCount, "its lease renewals got 401: %s", p.Reason)
		}, claim: "its lease renewals got 401"},
		// TestCheckOperatorCreatesPodsLater: the operand the operator starts three minutes
		// in (client-go v8.0.0, no owner, not in the manifests) is judged and breaks the
		// gate; before pods were watched the check passed on the operator alone.
		{manifest: "operator-addon.yaml", mutate: check.MutatePolicy, extra: []string{"satoken/probe:v8.0.0"}, want: []report.Outcome{report.Broken}, assess: func(t *testing.T, rep *report.Report) {
			require.Len(t, rep.Results, 2, "the operator and its operand")
			var operand *report.Result
			for i, p := range rep.Results {
				if strings.HasSuffix(p.Pod, "-operand") {
					operand = &rep.Results[i]
				}
			}
			require.NotNil(t, operand, "the operand pod is judged")
			assert.Equal(t, verdict.FailsAfterExpiry, operand.Verdict, operand.Reason)
			assert.Contains(t, strings.Join(check.Broken(rep), " "), operand.Pod)
		}, claim: "the operand started later is judged and breaks the gate"},
		// TestCheckHostNetworkAgent: a hostNetwork v8 agent beside a reloading controller;
		// its 401s come from its node's address and are its own only by its user agent.
		{manifest: "hostnet-addon.yaml", mutate: check.MutatePolicy, want: notPassed, assess: func(t *testing.T, rep *report.Report) {
			require.Len(t, rep.Results, 2, "the agent (one node) and the controller")
			for _, p := range rep.Results {
				if strings.HasPrefix(p.Pod, "agent-") {
					assert.NotEqual(t, verdict.Reloads, p.Verdict, p.Reason)
				}
			}
			assert.NotEmpty(t, rep.Canaries, "the canaries ran from the pod network and the node")
		}, claim: "the hostNetwork agent does not reload; the canaries ran from the pod network and the node"},
		// TestCheckTimerReReader: client-go v10.0.0 re-reads its token on a 5-minute timer;
		// it may pass only on data showing it switched to a newer token twice.
		{manifest: "timer-addon.yaml", mutate: check.MutateManifests, want: []report.Outcome{report.Passed, report.Broken, report.NotJudged}, assess: func(t *testing.T, rep *report.Report) {
			p := only(t, rep)
			if p.Verdict == verdict.Reloads {
				assert.GreaterOrEqual(t, p.RotationsSeen, 2, "a pass needs the second switch: %s", p.Reason)
				assert.Regexp(t, `switched to a newer token [2-9]`, p.Reason)
			}
		}, claim: "it reloads only on data showing the second switch to a newer token"},
	} {
		fs = append(fs, addonCheckFeature(a))
	}
	return fs
}
