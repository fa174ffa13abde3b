package report

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

var t0 = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

func sample() *Report {
	exp := t0.Add(10 * time.Minute)
	iat := t0
	first401 := exp.Add(61 * time.Second)
	restart := exp.Add(7 * time.Minute)
	recovered, secs := true, 1.5
	r := &Report{
		SchemaVersion: SchemaVersion, Command: "run", StartedAt: t0, FinishedAt: t0.Add(17 * time.Minute),
		Clusters:   []Cluster{{K8sVersion: "v1.34.4", Name: "satoken-run", MaxTokenExpiration: "1h0m0s"}},
		TTLSeconds: 600, TokenMode: "projected", ValidatorLeewaySeconds: 60, IntervalSeconds: 5, SettleSeconds: 300,
		Results: []Result{
			{Namespace: "satoken-v8", Pod: "probe", Verdict: verdict.FailsAfterExpiry, Reason: "ok until exp",
				TokenIat: &iat, TokenExp: &exp, FirstUnauthorizedAt: &first401, UnauthorizedCount: 72, OKCount: 131,
				Probe: &ProbeResult{ClientGo: "v8.0.0", ClientGoModule: "v8.0.0+incompatible", K8sRelease: "1.11", Library: "k8s.io/client-go",
					Restarted: true, RestartedAt: &restart, RecoveredAfterRestart: &recovered, SecondsToRecover: &secs},
				Calls: []Call{{At: t0.Add(5 * time.Second), Outcome: "ok"}, {At: first401, Outcome: "unauthorized"}, {At: restart.Add(2 * time.Second), Outcome: "ok", Restarted: true}}},
			{Namespace: "satoken-v0-37", Pod: "probe", Verdict: verdict.Reloads, Reason: "rotated <&>",
				TokenIat: &iat, TokenExp: &exp, RotationsSeen: 1, OKCount: 200,
				Probe: &ProbeResult{ClientGo: "v0.37.2", ClientGoModule: "v0.37.2", K8sRelease: "1.37", Library: "k8s.io/client-go"},
				Calls: []Call{{At: t0.Add(5 * time.Second), Outcome: "ok"}}},
		},
	}
	r.Results[1].Observation.Tokens = []verdict.Token{{Hash: "a", ReadAt: t0}, {Hash: "b", ReadAt: t0.Add(8 * time.Minute), Rotation: 1}}
	for i := range r.Results {
		r.Results[i].K8sVersion = "v1.34.4"
	}
	return r
}

// asCheck turns the sample into a `satoken check` report: the same pods as workloads.
func asCheck(r *Report) *Report {
	r.Command = "check"
	for i := range r.Results {
		r.Results[i].Probe = nil
		r.Results[i].Workload = &WorkloadResult{Owner: "Deployment/addon"}
	}
	return r
}

func TestWriteAllAndLoad(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	require.NoError(t, r.WriteAll(dir))
	for _, f := range []string{"report.json", "report.md", "junit.xml", "timeline.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Positive(t, st.Size(), f)
	}
	back, err := Load(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.Equal(t, r.Results[0].Probe.ClientGoModule, back.Results[0].Probe.ClientGoModule)
	require.Equal(t, *r.Results[0].Probe.SecondsToRecover, *back.Results[0].Probe.SecondsToRecover)
	require.Nil(t, back.Results[0].Workload, "a run report has no workload part")

	raw, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	for _, key := range []string{`"results"`, `"probe":`, `"clientGo"`, `"clientGoModule"`, `"k8sRelease"`, `"verdict"`, `"tokenIat"`, `"tokenExp"`, `"rotationsSeen"`,
		`"firstUnauthorizedAt"`, `"unauthorizedCount"`, `"okCount"`, `"restarts"`, `"recoveredAfterRestart"`, `"secondsToRecover"`, `"auditUnauthorized"`,
		`"k8sVersion"`, `"ttlSeconds"`, `"phases"`} {
		require.Contains(t, string(raw), key, "report.json field named in docs/report.md")
	}

	c := asCheck(sample())
	c.Results[0].Workload.LogUnauthorizedLines = 2
	require.NoError(t, c.WriteAll(dir))
	raw, _ = os.ReadFile(filepath.Join(dir, "report.json"))
	for _, key := range []string{`"workload"`, `"owner"`, `"logUnauthorizedLines"`, `"tokenEstimated"`} {
		require.Contains(t, string(raw), key, "report.json field named in docs/report.md")
	}
	require.NotContains(t, string(raw), `"probe":`, "a check report has no probe part")
}

func TestLoadRejectsOtherSchema(t *testing.T) {
	for schema, want := range map[string]string{
		"3":  "schema version 3, want 4: written by an older satoken: re-run with this one",
		"99": "schema version 99, want 4: written by a newer satoken",
	} {
		path := filepath.Join(t.TempDir(), "r.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"schemaVersion":`+schema+`,"probes":[{"clientGo":"v8.0.0"}]}`), 0o644))
		_, err := Load(path)
		require.ErrorContains(t, err, want)
	}
}

func TestMarkdown(t *testing.T) {
	md := sample().Markdown()
	require.Contains(t, md, "| v8.0.0 | `v8.0.0+incompatible` | 1.11 | **FAILS_AFTER_EXPIRY** |")
	require.Contains(t, md, "on Kubernetes v1.34.4\n")
	require.NotContains(t, md, "### Kubernetes", "one version: no matrix")
	require.Contains(t, md, "exp+1m1s")
	require.Contains(t, md, "yes, 2s")
	require.NotContains(t, md, "ERROR")
	require.Contains(t, md, "| 72 / 131 | – |", "no audit log: the audit column claims no count")
	require.Contains(t, md, "| client-go | module |")
	require.NotContains(t, md, "#### ", "one library, one table")

	mixed := sample()
	js := mixed.Results[0]
	js.Probe = &ProbeResult{ClientGo: "js-0.10.2", ClientGoModule: "@kubernetes/client-node@0.10.2", Library: "@kubernetes/client-node"}
	mixed.Results = append(mixed.Results, js)
	md = mixed.Markdown()
	require.Contains(t, md, "#### k8s.io/client-go\n\n| client-go | module |")
	require.Contains(t, md, "#### @kubernetes/client-node\n\n| client-node | module |")
	require.Contains(t, md, "| js-0.10.2 | `@kubernetes/client-node@0.10.2` | – | **FAILS_AFTER_EXPIRY** |")

	withAudit := sample()
	withAudit.Clusters[0].Kind, withAudit.Clusters[0].Images = "kind cluster satoken-run, made by satoken", "kind cluster satoken-run's nodes"
	withAudit.Results[0].Evidence = []string{EvidenceProbeLog, EvidenceAudit401}
	withAudit.Results[0].Probe.AuditUnauthorized = 9
	md = withAudit.Markdown()
	require.Contains(t, md, "| 72 / 131 | 9 |")
	require.Contains(t, md, "- **Kubernetes v1.34.4**: kind cluster satoken-run, made by satoken; images via kind cluster satoken-run's nodes.")

	r := asCheck(sample())
	r.Error = "token TTL 11m0s not applied"
	md = r.Markdown()
	require.Contains(t, md, "| Deployment/addon | satoken-v8/probe | **FAILS_AFTER_EXPIRY** |")
	require.Contains(t, md, "**ERROR: the run ended early, verdicts are incomplete: token TTL 11m0s not applied**")
	require.NotContains(t, md, "FAIL: the workload broke", "a harness error is not a verdict on the workload")
	require.Contains(t, string(r.JUnit()), `<testcase name="harness" classname="satoken.check">`)
}

func TestJUnit(t *testing.T) {
	r := sample()
	r.Expectations = []Expectation{{ClientGo: "v8.0.0", Want: verdict.Reloads, Got: verdict.FailsAfterExpiry}}
	var s junitSuite
	require.NoError(t, xml.Unmarshal(r.JUnit(), &s))
	require.Equal(t, 2, s.Tests)
	require.Equal(t, 1, s.Failures, "the unmet expectation fails its case")
	require.Contains(t, s.Cases[0].Failure.Message, "expected RELOADS, measured FAILS_AFTER_EXPIRY")
}

func TestTimelineIsWellFormedSVG(t *testing.T) {
	svg := sample().TimelineSVG()
	require.NoError(t, xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })))
	require.Equal(t, 4, strings.Count(svg, `height="14"`), "one mark per call")
	require.Contains(t, svg, "rotation 1 seen")
	require.Contains(t, svg, "first token exp")
	require.NotContains(t, svg, "<&>", "text is escaped")
}

// TestDecide: a pass needs every client judged; damage wins over "not judged"; an
// error wins over everything.
func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Report)
		want Outcome
	}{
		{"run, every probe judged", func(*Report) {}, Passed},
		{"run, one probe not judged", func(r *Report) { r.Results[1].Verdict = verdict.NotJudged }, NotJudged},
		{"run, expectation missed", func(r *Report) {
			r.Expectations = []Expectation{{ClientGo: "v8.0.0", Want: verdict.Reloads, Got: verdict.FailsAfterExpiry}}
		}, Broken},
		{"run, expected probe not judged is not a mismatch", func(r *Report) {
			r.Results[0].Verdict = verdict.NotJudged
			r.Expectations = []Expectation{{ClientGo: "v8.0.0", Want: verdict.FailsAfterExpiry, Got: verdict.NotJudged}}
		}, NotJudged},
		{"no clients at all", func(r *Report) { r.Results = nil }, NotJudged},
		{"harness error", func(r *Report) { r.Error = "interrupted" }, Failed},
		{"check, a reloading pod", func(r *Report) { asCheck(r).Results = r.Results[1:] }, Passed},
		{"check, a failing pod", func(r *Report) { asCheck(r) }, Broken},
		{"check, a reloading pod that restarted", func(r *Report) { asCheck(r).Results = r.Results[1:]; r.Results[0].Restarts = 1 }, Broken},
		{"check, a reloading pod that logged Unauthorized", func(r *Report) {
			asCheck(r).Results = r.Results[1:]
			r.Results[0].Workload.LogUnauthorizedLines = 1
		}, Broken},
		{"check, a pod with no verdict", func(r *Report) {
			asCheck(r).Results = r.Results[1:]
			r.Results[0].Verdict = verdict.NotJudged
			r.Results[0].UnauthorizedCount = 3 // 401s the verdict could not place are not a pass either
		}, NotJudged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			tc.edit(r)
			require.Equal(t, tc.want, r.Decide())
			require.Contains(t, r.Markdown(), map[Outcome]string{Passed: "PASSED", Broken: "BROKEN", NotJudged: "NOT JUDGED", Failed: "ERROR"}[tc.want])
		})
	}
}
