package verdict

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

var (
	t0     = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	params = Params{Interval: 5 * time.Second, Leeway: ValidatorLeeway}
)

// scenario synthesizes a probe log: a 600 s token issued at t0, optionally rotated at
// 480 s, and one call every 5 s for `until`, whose outcome/header come from call(t).
type scenario struct {
	rotate bool
	until  time.Duration
	call   func(at time.Duration, rotated bool) (outcome, authHash string)
}

func (s scenario) lines() []probelog.Line {
	lines := []probelog.Line{
		{Time: t0, Kind: probelog.KindStart, ClientGo: "v0.0.0-test"},
		{Time: t0, Kind: probelog.KindToken, TokenHash: "first", Iat: t0.Unix(), Exp: t0.Add(600 * time.Second).Unix()},
	}
	rotated := false
	for at := 5 * time.Second; at <= s.until; at += 5 * time.Second {
		if s.rotate && !rotated && at >= 480*time.Second {
			rotated = true
			lines = append(lines, probelog.Line{Time: t0.Add(at), Kind: probelog.KindToken, TokenHash: "second",
				Iat: t0.Add(480 * time.Second).Unix(), Exp: t0.Add(1080 * time.Second).Unix()})
		}
		outcome, hash := s.call(at, rotated)
		lines = append(lines, probelog.Line{Time: t0.Add(at), Kind: probelog.KindCall, Outcome: outcome, AuthHash: hash})
	}
	return lines
}

func judge(s scenario) (Observation, Result) {
	o := Observe(s.lines())
	return o, Judge(o, params)
}

func TestReloads(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 900 * time.Second, call: func(_ time.Duration, rotated bool) (string, string) {
		if rotated {
			return probelog.OutcomeOK, "second"
		}
		return probelog.OutcomeOK, "first"
	}})
	require.Equal(t, Reloads, r.Verdict, r.Reason)
	require.Equal(t, 1, o.RotationsSeen)
	require.True(t, o.HeaderRotated)
	require.Zero(t, o.UnauthorizedCount)
}

// readsOnce keeps sending the first token and is refused from exp+leeway+delay on.
func readsOnce(delay time.Duration) func(time.Duration, bool) (string, string) {
	return func(at time.Duration, _ bool) (string, string) {
		if at >= 660*time.Second+delay {
			return probelog.OutcomeUnauthorized, "first"
		}
		return probelog.OutcomeOK, "first"
	}
}

func TestFailsAfterExpiry(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 960 * time.Second, call: readsOnce(0)})
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
	require.Equal(t, t0.Add(660*time.Second), *o.FirstUnauthorizedAt)
	require.Equal(t, o.UnauthorizedCount, o.UnauthorizedWithFirstToken)
	require.Len(t, o.UnauthorizedWindows, 1)
	require.Equal(t, 1, o.RotationsSeen, "the kubelet rotated the file; the client ignored it")
}

func TestFirst401OutsideExpiryWindowIsUnexpected(t *testing.T) {
	// 401 long before exp: not a token-expiry failure (e.g. RBAC or a revoked token).
	_, r := judge(scenario{until: 960 * time.Second, call: func(at time.Duration, _ bool) (string, string) {
		if at >= 100*time.Second {
			return probelog.OutcomeUnauthorized, "first"
		}
		return probelog.OutcomeOK, "first"
	}})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// 401 only well after exp+leeway+auth cache+2 intervals.
	_, r = judge(scenario{until: 960 * time.Second, call: readsOnce(30 * time.Second)})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// Up to the apiserver's 10 s authentication cache late is still on time (seen: exp+72s).
	_, r = judge(scenario{until: 960 * time.Second, call: readsOnce(15 * time.Second)})
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
}

func TestIntermittent(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, rotated bool) (string, string) {
		switch {
		case at >= 660*time.Second && at < 780*time.Second:
			return probelog.OutcomeUnauthorized, "first"
		case at >= 780*time.Second:
			return probelog.OutcomeOK, "second"
		}
		return probelog.OutcomeOK, "first"
	}})
	require.Equal(t, Intermittent, r.Verdict, r.Reason)
	require.Len(t, o.UnauthorizedWindows, 1)
	require.Equal(t, t0.Add(660*time.Second), o.UnauthorizedWindows[0].Start)
	require.Equal(t, t0.Add(775*time.Second), o.UnauthorizedWindows[0].End)
	require.Equal(t, 24, o.UnauthorizedWindows[0].Calls)
}

func TestNoVerdictWithoutEvidence(t *testing.T) {
	ok := func(time.Duration, bool) (string, string) { return probelog.OutcomeOK, "first" }
	// Observation stopped before the first token expired.
	_, r := judge(scenario{rotate: true, until: 600 * time.Second, call: ok})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// Never rotated and never refused: an extended token, not a reloading client.
	_, r = judge(scenario{until: 900 * time.Second, call: ok})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// Rotated file, no 401, but the header never changed: cannot claim RELOADS.
	_, r = judge(scenario{rotate: true, until: 900 * time.Second, call: ok})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// A broken network is not a token verdict.
	_, r = judge(scenario{rotate: true, until: 900 * time.Second, call: func(time.Duration, bool) (string, string) { return probelog.OutcomeError, "" }})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	// No lines at all.
	r = Judge(Observe(nil), params)
	require.Equal(t, NotJudged, r.Verdict)
}

func TestReloadsWithoutHeaderHash(t *testing.T) {
	lines := scenario{rotate: true, until: 900 * time.Second, call: func(time.Duration, bool) (string, string) { return probelog.OutcomeOK, "" }}.lines()
	for i := range lines {
		if lines[i].Kind == probelog.KindCall {
			lines[i].AuthHashNote = "transport not observable"
		}
	}
	o := Observe(lines)
	r := Judge(o, params)
	require.Equal(t, Reloads, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "header not observable")
}
