package verdict

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

var (
	t0     = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	params = Steady(5 * time.Second)
)

const (
	ok     = probelog.OutcomeOK
	unauth = probelog.OutcomeUnauthorized
	// absent: no call is recorded at that moment (audit evidence while the apiserver was down).
	absent = ""
)

// scenario synthesizes a probe log: 600 s tokens, the first issued at t0 and, when
// rotating, a new one every 480 s ("first", "second", "third", ...), and one call every
// 5 s for `until`, whose outcome/header come from call(t, the token file's current hash).
type scenario struct {
	rotate bool
	until  time.Duration
	call   func(at time.Duration, current string) (outcome, authHash string)
	// restartAt, when set, starts a second process then (a container restart).
	restartAt time.Duration
}

var versions = []string{"first", "second", "third", "fourth"}

func (s scenario) lines() []probelog.Line {
	lines := []probelog.Line{
		{Time: t0, Kind: probelog.KindStart, ClientGo: "v0.0.0-test"},
		{Time: t0, Kind: probelog.KindToken, TokenHash: "first", Iat: t0.Unix(), Exp: t0.Add(600 * time.Second).Unix()},
	}
	current := 0
	for at := 5 * time.Second; at <= s.until; at += 5 * time.Second {
		if next := time.Duration(current+1) * 480 * time.Second; s.rotate && at >= next {
			current++
			lines = append(lines, probelog.Line{Time: t0.Add(at), Kind: probelog.KindToken, TokenHash: versions[current],
				Iat: t0.Add(next).Unix(), Exp: t0.Add(next + 600*time.Second).Unix()})
		}
		if s.restartAt != 0 && at == s.restartAt {
			lines = append(lines, probelog.Line{Time: t0.Add(at), Kind: probelog.KindStart, ClientGo: "v0.0.0-test"})
		}
		outcome, hash := s.call(at, versions[current])
		if outcome == absent {
			continue
		}
		l := probelog.Line{Time: t0.Add(at), Kind: probelog.KindCall, Outcome: outcome, AuthHash: hash}
		if outcome != ok && outcome != unauth && outcome != probelog.OutcomeError {
			l.Status = 403
		}
		lines = append(lines, l)
	}
	return lines
}

func judge(s scenario) (Observation, Result) {
	o := Observe(FromProbeLog(s.lines()))
	return o, Judge(o, params)
}

// follows sends the current token and is never refused.
func follows(_ time.Duration, current string) (string, string) { return ok, current }

// readsOnce keeps sending the first token and is refused from exp+leeway+delay on.
func readsOnce(delay time.Duration) func(time.Duration, string) (string, string) {
	return func(at time.Duration, _ string) (string, string) {
		if at >= 660*time.Second+delay {
			return unauth, "first"
		}
		return ok, "first"
	}
}

func TestReloads(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 1100 * time.Second, call: follows})
	require.Equal(t, Reloads, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "switched to a newer token 2 times")
	require.Equal(t, 2, o.RotationsSeen)
	require.True(t, o.HeaderRotated)
	require.Zero(t, o.UnauthorizedCount)
	require.Len(t, o.Credentials, 3)
	require.Equal(t, t0.Add(1080*time.Second), o.Credentials[1].Exp, "each credential's exp, from its JWT")
	_, more := ReloadProofUntil(o, params)
	require.False(t, more, "two switches need no more watching")
}

// TestReloadNeedsASecondSwitch: one switch before the first token's refusal shows a read
// after the kubelet's rotation, not yet a habit — a read-once process that started late, or
// a timer slower than the rotation, does the same. The watch must go on until the token
// it switched to has been refused too.
func TestReloadNeedsASecondSwitch(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 900 * time.Second, call: follows})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "switched to a rotated token once")
	require.Contains(t, r.Reason, "stops being accepted at exp+9m10s")
	until, more := ReloadProofUntil(o, params)
	require.True(t, more)
	require.Equal(t, t0.Add(1080*time.Second+ValidatorLeeway+AuthCacheTTL+params.Late), until)
}

// TestTimerReReader: a client that re-reads its token every 300 s (client-go 1.12/1.13
// re-read on a timer of their own) switches once in time, then holds the second token
// past its refusal until its timer fires again: INTERMITTENT, by that token's window.
func TestTimerReReader(t *testing.T) {
	held := "first"
	o, r := judge(scenario{rotate: true, until: 1400 * time.Second, call: func(at time.Duration, current string) (string, string) {
		if at%(300*time.Second) == 0 {
			held = current
		}
		if at >= 1145*time.Second && held == "second" {
			return unauth, held
		}
		return ok, held
	}})
	require.Equal(t, Intermittent, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "from its exp+1m5s (the token it used from exp+0s on)")
	require.Equal(t, t0.Add(1145*time.Second), *o.FirstUnauthorizedAt)
}

func TestFailsAfterExpiry(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 960 * time.Second, call: readsOnce(0)})
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "every one carrying the start-up token")
	require.Equal(t, t0.Add(660*time.Second), *o.FirstUnauthorizedAt)
	require.Equal(t, o.UnauthorizedCount, o.UnauthorizedWithFirstToken)
	require.Len(t, o.UnauthorizedWindows, 1)
	require.Equal(t, 2, o.RotationsSeen, "the kubelet rotated the file twice; the client ignored it")
	// Up to the apiserver's 10 s authentication cache late is still on time (seen: exp+72s).
	_, r = judge(scenario{until: 960 * time.Second, call: readsOnce(15 * time.Second)})
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
	// The token sent is not observable: still a failure, and the reason says so.
	_, r = judge(scenario{until: 960 * time.Second, call: func(at time.Duration, _ string) (string, string) {
		o, _ := readsOnce(0)(at, "")
		return o, ""
	}})
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "not observable")
}

func TestIntermittent(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, current string) (string, string) {
		switch {
		case at >= 660*time.Second && at < 780*time.Second:
			return unauth, "first"
		case at >= 780*time.Second:
			return ok, current
		}
		return ok, "first"
	}})
	require.Equal(t, Intermittent, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "in the same process", "a probe log marks process starts")
	require.Len(t, o.UnauthorizedWindows, 1)
	require.Equal(t, t0.Add(660*time.Second), o.UnauthorizedWindows[0].Start)
	require.Equal(t, t0.Add(775*time.Second), o.UnauthorizedWindows[0].End)
	require.Equal(t, 24, o.UnauthorizedWindows[0].Calls)
}

// TestAdversarialObservations feeds the classifier the observations that would fool a
// rule that claims more than its data: each must come out NOT_JUDGED.
func TestAdversarialObservations(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    scenario
		want string // in the reason
	}{{
		name: "401s that carried the rotated token are not a read-once failure",
		s: scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, current string) (string, string) {
			if at >= 660*time.Second {
				return unauth, "second"
			}
			return follows(at, current)
		}},
		want: "carried another token than the first token",
	}, {
		name: "two trailing 401s do not show a client that never recovers",
		s:    scenario{rotate: true, until: 665 * time.Second, call: readsOnce(0)},
		want: "short of 1m0s of refusals",
	}, {
		name: "a 401 before exp + leeway is not an expiry",
		s:    scenario{rotate: true, until: 960 * time.Second, call: readsOnce(-40 * time.Second)},
		want: "first 401 at exp+20s, outside every token's refusal window (the first token: exp+55s to exp+1m20s)",
	}, {
		name: "a single 401 long before any expiry is not INTERMITTENT",
		s: scenario{rotate: true, until: 900 * time.Second, call: func(at time.Duration, current string) (string, string) {
			if at == 100*time.Second {
				return unauth, "first"
			}
			return follows(at, current)
		}},
		want: "not a token-expiry failure",
	}, {
		name: "401s long after every expiry window, then success: not INTERMITTENT either",
		s: scenario{rotate: true, until: 1000 * time.Second, call: func(at time.Duration, current string) (string, string) {
			if at >= 800*time.Second && at < 860*time.Second {
				return unauth, current
			}
			return follows(at, current)
		}},
		want: "outside every token's refusal window",
	}, {
		name: "refused from the start: never seen working, so not an expiry failure",
		s: scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, _ string) (string, string) {
			return readsOnce(-660*time.Second)(at+660*time.Second, "")
		}},
		want: "outside every token's refusal window",
	}, {
		name: "a first 401 far past the expiry window",
		s:    scenario{rotate: true, until: 1100 * time.Second, call: readsOnce(60 * time.Second)},
		want: "first 401 at exp+2m0s, outside every token's refusal window",
	}, {
		name: "one stray call without a hash does not open the header-not-observable fallback",
		s: scenario{rotate: true, until: 900 * time.Second, call: func(at time.Duration, _ string) (string, string) {
			if at == 700*time.Second {
				return ok, ""
			}
			return ok, "first"
		}},
		want: "carried a rotated token",
	}, {
		name: "a rotated header before expiry, then silence: no success after the refusal",
		s:    scenario{rotate: true, until: 665 * time.Second, call: follows},
		want: "no API call after the first token stopped being accepted at exp+1m10s; the last call, at exp+1m5s, carried a rotated token",
	}, {
		name: "rotated file, no 401, but the header never changed",
		s:    scenario{rotate: true, until: 900 * time.Second, call: func(time.Duration, string) (string, string) { return ok, "first" }},
		want: "carried a rotated token",
	}, {
		name: "never rotated and never refused: an extended token, not a reloading client",
		s:    scenario{until: 900 * time.Second, call: func(time.Duration, string) (string, string) { return ok, "first" }},
		want: "extended",
	}, {
		name: "a broken network is not a token verdict",
		s:    scenario{rotate: true, until: 900 * time.Second, call: func(time.Duration, string) (string, string) { return probelog.OutcomeError, "" }},
		want: "without an HTTP answer",
	}, {
		name: "a 403 after the first 401: the 401s are not the only failure",
		s: scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, c string) (string, string) {
			if at == 700*time.Second {
				return "http-403", "first"
			}
			return readsOnce(0)(at, c)
		}},
		want: "other than 401",
	}, {
		name: "success with a valid token after the refusal, then 401s: not a read-once client",
		s: scenario{rotate: true, until: 1000 * time.Second, call: func(at time.Duration, c string) (string, string) {
			if at < 700*time.Second {
				return follows(at, c)
			}
			return unauth, "first"
		}},
		want: "outside every token's refusal window",
	}, {
		name: "a success after the first token's refusal, then 401s in the window",
		s: scenario{rotate: true, until: 1000 * time.Second, call: func(at time.Duration, c string) (string, string) {
			if at < 680*time.Second {
				return follows(at, c)
			}
			return unauth, "first"
		}},
		want: "after the first token stopped being accepted, before the 401s",
	}, {
		name: "a container restart: what the second process does is not the first one's recovery",
		s: scenario{rotate: true, until: 960 * time.Second, restartAt: 690 * time.Second, call: func(at time.Duration, c string) (string, string) {
			if at >= 690*time.Second {
				return ok, "second" // the new process read the rotated file at start
			}
			return readsOnce(0)(at, c)
		}},
		want: "short of 1m0s",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := judge(tc.s)
			require.Equal(t, NotJudged, r.Verdict, r.Reason)
			require.Contains(t, r.Reason, tc.want)
			require.NotEmpty(t, r.Hint, "a NOT_JUDGED result says what to do")
		})
	}
	// No lines at all.
	r := Judge(Observe(Evidence{}), params)
	require.Equal(t, NotJudged, r.Verdict)
}

func TestRestartEndsTheObservation(t *testing.T) {
	o, r := judge(scenario{rotate: true, until: 960 * time.Second, restartAt: 800 * time.Second, call: func(at time.Duration, c string) (string, string) {
		if at >= 800*time.Second {
			return ok, "second"
		}
		return readsOnce(0)(at, c)
	}})
	require.NotNil(t, o.RestartedAt)
	require.Zero(t, o.OKAfterFirst401, "the restarted process's successes are not the first one's")
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
}

// TestRestartBeforeExpiry: a container restart (a node restarted) before the first token
// expired leaves nothing to judge, and the reason says the process restarted.
func TestRestartBeforeExpiry(t *testing.T) {
	_, r := judge(scenario{rotate: true, until: 960 * time.Second, restartAt: 300 * time.Second, call: follows})
	require.Equal(t, NotJudged, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "the client's process restarted at 20:05:00, exp-5m0s")
}

func TestReloadsWithoutHeaderHash(t *testing.T) {
	judgeHidden := func(until time.Duration) Result {
		lines := scenario{rotate: true, until: until, call: func(time.Duration, string) (string, string) { return ok, "" }}.lines()
		for i := range lines {
			if lines[i].Kind == probelog.KindCall {
				lines[i].AuthHashNote = "transport not observable"
			}
		}
		return Judge(Observe(FromProbeLog(lines)), params)
	}
	r := judgeHidden(1200 * time.Second)
	require.Equal(t, Reloads, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "header not observable")
	r = judgeHidden(900 * time.Second)
	require.Equal(t, NotJudged, r.Verdict, "past the first token's refusal only: %s", r.Reason)
	require.Contains(t, r.Reason, "not past the second version's refusal")
}

// TestWorkloadCadence: a watch-only client makes its first call after expiry when its
// watch times out, minutes late. With a workload's Late bound that is an expiry failure;
// with a steady client's bound the same data is not judged.
func TestWorkloadCadence(t *testing.T) {
	lines := []probelog.Line{
		{Time: t0, Kind: probelog.KindToken, TokenHash: "first", Iat: t0.Unix(), Exp: t0.Add(600 * time.Second).Unix()},
		{Time: t0.Add(time.Second), Kind: probelog.KindCall, Outcome: ok, AuthHash: "first"},
		{Time: t0.Add(400 * time.Second), Kind: probelog.KindCall, Outcome: ok, AuthHash: "first"},
	}
	for at := 1100 * time.Second; at <= 1300*time.Second; at += time.Second {
		lines = append(lines, probelog.Line{Time: t0.Add(at), Kind: probelog.KindCall, Outcome: unauth})
	}
	o := Observe(FromProbeLog(lines))
	workload := Params{Interval: 10 * time.Second, Leeway: ValidatorLeeway, Late: 11 * time.Minute}
	r := Judge(o, workload)
	require.Equal(t, FailsAfterExpiry, r.Verdict, r.Reason)
	require.Equal(t, NotJudged, Judge(o, params).Verdict)
}

// during replaces the calls of client in [from, to) by outcome (no answer, or absent).
func during(from, to time.Duration, outcome string, client func(time.Duration, string) (string, string)) func(time.Duration, string) (string, string) {
	return func(at time.Duration, current string) (string, string) {
		o, h := client(at, current)
		if at >= from && at < to {
			return outcome, h
		}
		return o, h
	}
}

// timer re-reads the token file every period (client-go 1.12/1.13 style): with 300 s it
// holds the second token past its refusal (exp+9m05s to exp+10m) until it re-reads.
func timer(period time.Duration) func(time.Duration, string) (string, string) {
	held := "first"
	return func(at time.Duration, current string) (string, string) {
		if at%period == 0 {
			held = current
		}
		if held == "second" && at >= 1145*time.Second {
			return unauth, held
		}
		return ok, held
	}
}

// refusedOnce follows the current token and is refused once, at `at`.
func refusedOnce(at time.Duration) func(time.Duration, string) (string, string) {
	return func(t time.Duration, c string) (string, string) {
		if t == at {
			return unauth, c
		}
		return follows(t, c)
	}
}

// outage is an apiserver outage seen by satoken's polling, relative to t0.
func outage(from, to time.Duration) []Outage {
	return []Outage{{From: t0.Add(from), To: t0.Add(to)}}
}

// TestOutages: a call the apiserver did not answer is neither a 401 nor a success. Each
// case is an observation a gap would fool a rule with; where the gap hides what decides,
// the verdict is NOT_JUDGED and its reason names the gap; where it does not, the verdict
// stands.
func TestOutages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       scenario
		outages []Outage
		want    Verdict
		reason  string
	}{{
		name: "a slow re-reader whose 401s fell into unanswered calls is not RELOADS",
		s:    scenario{rotate: true, until: 1400 * time.Second, call: during(1140*time.Second, 1200*time.Second, probelog.OutcomeError, timer(300*time.Second))},
		want: NotJudged, reason: "12 calls of the client went without an HTTP answer from 20:18:55 to 20:20:00 (exp+8m55s to exp+10m0s), after the first token's refusal window opened at exp+55s",
	}, {
		name:    "the same with the calls absent (audit evidence) and the outage seen by satoken's polls",
		s:       scenario{rotate: true, until: 1400 * time.Second, call: during(1140*time.Second, 1200*time.Second, absent, timer(300*time.Second))},
		outages: outage(1137*time.Second, 1202*time.Second),
		want:    NotJudged, reason: "the apiserver was unavailable (satoken's readiness polls) from 20:18:57 to 20:20:02",
	}, {
		name:    "a read-once client whose first 401s were hidden: the reason names the outage, not another cause",
		s:       scenario{rotate: true, until: 1000 * time.Second, call: during(640*time.Second, 720*time.Second, absent, readsOnce(0))},
		outages: outage(637*time.Second, 722*time.Second),
		want:    NotJudged, reason: "the apiserver was unavailable",
	}, {
		name: "a 401 right after a restart, inside the refusal window, then success: not INTERMITTENT",
		s: scenario{rotate: true, until: 1200 * time.Second, call: during(640*time.Second, 670*time.Second, absent,
			refusedOnce(670*time.Second))},
		outages: outage(637*time.Second, 668*time.Second),
		want:    NotJudged, reason: "a 401 came within 30s after it",
	}, {
		name: "a 401 right after an early restart: the restart, not another cause",
		s: scenario{rotate: true, until: 1200 * time.Second, call: during(300*time.Second, 340*time.Second, absent,
			refusedOnce(340*time.Second))},
		outages: outage(298*time.Second, 338*time.Second),
		want:    NotJudged, reason: "a 401 came within 30s after it",
	}, {
		name:    "an outage before the expiry with no 401 near it: a reloading client still RELOADS",
		s:       scenario{rotate: true, until: 1200 * time.Second, call: during(200*time.Second, 240*time.Second, absent, follows)},
		outages: outage(198*time.Second, 242*time.Second),
		want:    Reloads,
	}, {
		name:    "an outage before the expiry: a read-once client still FAILS_AFTER_EXPIRY",
		s:       scenario{rotate: true, until: 960 * time.Second, call: during(200*time.Second, 240*time.Second, probelog.OutcomeError, readsOnce(0))},
		outages: outage(198*time.Second, 242*time.Second),
		want:    FailsAfterExpiry,
	}, {
		name: "a two-minute gap long before the expiry (an eighth of the calls) is weighed as a gap, not as scattered failures",
		s:    scenario{rotate: true, until: 960 * time.Second, call: during(100*time.Second, 220*time.Second, probelog.OutcomeError, readsOnce(0))},
		want: FailsAfterExpiry,
	}, {
		name: "scattered failures are still too many",
		s: scenario{rotate: true, until: 960 * time.Second, call: func(at time.Duration, c string) (string, string) {
			if at%(40*time.Second) == 0 {
				return probelog.OutcomeError, c
			}
			return readsOnce(0)(at, c)
		}},
		want: NotJudged, reason: "24 of 192 calls failed without an HTTP answer",
	}, {
		name:    "the apiserver gone for good after a read-once client's verdict was decided: FAILS stands",
		s:       scenario{rotate: true, until: 960 * time.Second, call: during(850*time.Second, 965*time.Second, probelog.OutcomeError, readsOnce(0))},
		outages: outage(848*time.Second, 1000*time.Second),
		want:    FailsAfterExpiry,
	}, {
		name:    "a reloading client proven before an outage: RELOADS stands",
		s:       scenario{rotate: true, until: 1200 * time.Second, call: during(1150*time.Second, 1200*time.Second, absent, follows)},
		outages: outage(1148*time.Second, 1202*time.Second),
		want:    Reloads,
	}, {
		name: "decided FAILS before a gap, success after it: the gap hid a recovery, not judged",
		s: scenario{rotate: true, until: 1100 * time.Second, call: during(900*time.Second, 960*time.Second, absent,
			func(at time.Duration, c string) (string, string) {
				if at >= 960*time.Second {
					return ok, c
				}
				return readsOnce(0)(at, c)
			})},
		outages: outage(898*time.Second, 958*time.Second),
		want:    NotJudged, reason: "before the data decided",
	}, {
		name: "one unanswered call is no gap",
		s:    scenario{rotate: true, until: 1200 * time.Second, call: during(900*time.Second, 905*time.Second, probelog.OutcomeError, follows)},
		want: Reloads,
	}, {
		name:    "an outage outside the observation changes nothing",
		s:       scenario{rotate: true, until: 960 * time.Second, call: readsOnce(0)},
		outages: outage(1000*time.Second, 1100*time.Second),
		want:    FailsAfterExpiry,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := params
			p.Outages = tc.outages
			r := Judge(Observe(FromProbeLog(tc.s.lines())), p)
			require.Equal(t, tc.want, r.Verdict, r.Reason)
			require.Contains(t, r.Reason, tc.reason)
			if tc.want == NotJudged {
				require.NotEmpty(t, r.Hint)
			}
		})
	}
}
