package report

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// on is the sample measured on another Kubernetes version, an hour later.
func on(version string) *Report {
	r := sample()
	r.Clusters[0].K8sVersion, r.Clusters[0].Name = version, "satoken-run-"+version
	r.StartedAt, r.FinishedAt = r.StartedAt.Add(time.Hour), r.FinishedAt.Add(time.Hour)
	for i := range r.Results {
		r.Results[i].K8sVersion = version
	}
	r.Phases = []phase.Timing{{Name: "deploy probes", Seconds: 3}}
	return r
}

func TestCombine(t *testing.T) {
	a, b := sample(), on("v1.37.2")
	a.Expectations = []Expectation{{ClientGo: "v8.0.0", K8sVersion: "v1.34.4", Want: verdict.FailsAfterExpiry, Got: verdict.FailsAfterExpiry, Met: true}}
	b.Expectations = []Expectation{{ClientGo: "v8.0.0", K8sVersion: "v1.37.2", Want: verdict.FailsAfterExpiry, Got: verdict.FailsAfterExpiry, Met: true}}
	m := Combine([]*Report{a, b})
	require.Equal(t, []string{"v1.34.4", "v1.37.2"}, m.Versions())
	require.Len(t, m.Results, 4)
	require.Equal(t, a.StartedAt, m.StartedAt)
	require.Equal(t, b.FinishedAt, m.FinishedAt)
	require.Equal(t, "[v1.37.2] deploy probes", m.Phases[0].Name)
	require.Equal(t, Passed, m.Outcome)

	md := m.Markdown()
	require.Contains(t, md, "on Kubernetes v1.34.4, v1.37.2")
	require.Contains(t, md, "| client | v1.34.4 | v1.37.2 |")
	require.Contains(t, md, "| v8.0.0 | **FAILS_AFTER_EXPIRY**, first 401 exp+1m1s, restart → recovered yes, 2s | **FAILS_AFTER_EXPIRY**, first 401 exp+1m1s, restart → recovered yes, 2s |")
	require.Contains(t, md, "### Kubernetes v1.37.2\n\n| client-go | module |")
	require.Contains(t, md, "- **v0.37.2** on v1.37.2 RELOADS")
	require.Contains(t, md, "| v8.0.0 | v1.37.2 | FAILS_AFTER_EXPIRY | FAILS_AFTER_EXPIRY | ✅ |")

	svg := m.TimelineSVG()
	require.NoError(t, xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })))
	require.Equal(t, 2, strings.Count(svg, ">Kubernetes v"), "one panel per version")
	require.Equal(t, 8, strings.Count(svg, `height="14"`), "every call of both versions")

	var s junitSuite
	require.NoError(t, xml.Unmarshal(m.JUnit(), &s))
	require.Equal(t, 4, s.Tests)
	require.Contains(t, s.Cases[2].Name, "v8.0.0 on v1.37.2")
}

// TestCombineDoesNotHide: an expectation missed on one version only, or a version whose
// cluster never came up, must decide the whole matrix.
func TestCombineDoesNotHide(t *testing.T) {
	a, b := sample(), on("v1.37.2")
	b.Expectations = []Expectation{{ClientGo: "v8.0.0", K8sVersion: "v1.37.2", Want: verdict.FailsAfterExpiry, Got: verdict.Reloads}}
	require.Equal(t, Broken, Combine([]*Report{a, b}).Outcome)

	// A version whose cluster measured nothing, without an error, must not ride on the
	// others' verdicts.
	empty := on("v1.37.2")
	empty.Results = nil
	require.Equal(t, NotJudged, Combine([]*Report{sample(), empty}).Outcome)

	down := PartFailed("run", Cluster{K8sVersion: "v1.36.5", Name: "satoken-run-v1-36-5"}, t0, errors.New("kind create: node not ready"))
	m := Combine([]*Report{sample(), down})
	require.Equal(t, Failed, m.Outcome, "a version with no verdicts is not a pass")
	require.Contains(t, m.Error, "v1.36.5: kind create: node not ready")
	md := m.Markdown()
	require.Contains(t, md, "| client | v1.34.4 | v1.36.5 |")
	require.Contains(t, md, "| v8.0.0 | **FAILS_AFTER_EXPIRY**, first 401 exp+1m1s, restart → recovered yes, 2s | – |")
	require.Contains(t, md, "**ended early: kind create: node not ready**")
}
