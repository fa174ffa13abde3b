// Package verdict turns one client's observed calls into a verdict. Every verdict is
// derived from observed data — call outcomes, token claims, the hash of the credential
// actually sent — never from the client's version. When the data cannot decide, the
// verdict is NOT_JUDGED with the reason and what to do: never a pass.
package verdict

import (
	"fmt"
	"time"
)

// Verdict classifies how a client lived through its first token's expiry.
type Verdict string

const (
	// Reloads: after the first token stopped being accepted, calls kept succeeding with a
	// newer token, and no call was refused.
	Reloads Verdict = "RELOADS"
	// FailsAfterExpiry: success until the first token stopped being accepted, then 401 on
	// every call for at least MinSettle.
	FailsAfterExpiry Verdict = "FAILS_AFTER_EXPIRY"
	// Intermittent: 401s after the first token expired, then success again within the
	// same process (a slow re-read).
	Intermittent Verdict = "INTERMITTENT"
	// NotJudged: the data cannot decide (too little, or it fits no rule); the reason says
	// why and the hint what to do. Never a pass.
	NotJudged Verdict = "NOT_JUDGED"
)

// All lists the verdicts, for flag validation.
var All = []Verdict{Reloads, FailsAfterExpiry, Intermittent, NotJudged}

// ValidatorLeeway is how long the apiserver still accepts a token past its exp
// (k8s.io/kubernetes pkg/serviceaccount: the claims validator's leeway).
const ValidatorLeeway = 60 * time.Second

// AuthCacheTTL is how long the apiserver caches a successful token authentication
// (TokenSuccessCacheTTL in k8s.io/kubernetes pkg/kubeapiserver): a token can keep working
// up to this long past exp + leeway.
const AuthCacheTTL = 10 * time.Second

// MinSettle is the shortest run of 401s that FAILS_AFTER_EXPIRY accepts: two trailing
// 401s at the end of an observation do not show a client that never recovers.
const MinSettle = time.Minute

// maxErrorRatio bounds non-HTTP failures (timeouts, refused connections): beyond it the
// environment, not the token, was the problem and no verdict is drawn.
const maxErrorRatio = 0.1

// Token is one version of the token as observed.
type Token struct {
	Hash     string    `json:"hash"`
	Iat      time.Time `json:"iat"`
	Exp      time.Time `json:"exp"`
	ReadAt   time.Time `json:"readAt"`
	Rotation int       `json:"rotation"` // 0 for the token the client started with
}

// Window is a run of consecutive 401 answers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Calls int       `json:"calls"`
}

// Observation is what one client process was seen to do. Only the first process counts:
// a restarted process reads the token anew, so its calls say nothing about reloading.
type Observation struct {
	ClientGo            string     `json:"clientGoReported,omitempty"` // from the probe's build info
	Tokens              []Token    `json:"tokens"`
	RotationsSeen       int        `json:"rotationsSeen"`
	HeaderRotated       bool       `json:"headerRotated"` // a call carried a token other than the first
	HeaderNote          string     `json:"headerNote,omitempty"`
	Calls               int        `json:"calls"`
	CallsWithHeader     int        `json:"callsWithHeader"` // calls whose credential hash was observable
	OKCount             int        `json:"okCount"`
	UnauthorizedCount   int        `json:"unauthorizedCount"`
	ErrorCount          int        `json:"errorCount"` // neither ok nor 401
	FirstCallAt         time.Time  `json:"firstCallAt"`
	LastCallAt          time.Time  `json:"lastCallAt"`
	FirstUnauthorizedAt *time.Time `json:"firstUnauthorizedAt,omitempty"`
	LastOKAt            *time.Time `json:"lastOkAt,omitempty"`
	// LastRotatedOKAt is the last successful call that carried a token other than the
	// start-up one: the direct evidence of a reload.
	LastRotatedOKAt *time.Time `json:"lastRotatedOkAt,omitempty"`
	OKAfterFirst401 int        `json:"okAfterFirstUnauthorized"`
	// OtherAfterFirst401 counts HTTP answers other than 200 and 401 after the first 401.
	OtherAfterFirst401 int `json:"otherAfterFirstUnauthorized,omitempty"`
	// UnauthorizedWithFirstToken counts 401s whose request carried the start-up token:
	// the direct evidence that the client never re-read the file.
	UnauthorizedWithFirstToken int `json:"unauthorizedWithFirstToken"`
	// UnauthorizedWithOtherToken counts 401s that carried a rotated token.
	UnauthorizedWithOtherToken int      `json:"unauthorizedWithOtherToken,omitempty"`
	UnauthorizedWindows        []Window `json:"unauthorizedWindows,omitempty"`
	Errors                     []string `json:"sampleErrors,omitempty"`
	// LastCallRotated: the last call carried a token other than the start-up one;
	// LastCallHeaderKnown: its token was observable at all.
	LastCallRotated     bool `json:"lastCallRotated,omitempty"`
	LastCallHeaderKnown bool `json:"lastCallHeaderKnown,omitempty"`
	// OneProcess: the record marks process starts (a probe's log), so everything observed
	// was done by one process. Audit evidence cannot tell.
	OneProcess bool `json:"oneProcess,omitempty"`
	// RestartedAt is when a second process of the client started (its log's second start
	// line); what it did afterwards is not part of this observation.
	RestartedAt *time.Time `json:"restartedAt,omitempty"`
}

// FirstToken is the token the client started with, if one was observed.
func (o Observation) FirstToken() (Token, bool) {
	if len(o.Tokens) == 0 {
		return Token{}, false
	}
	return o.Tokens[0], true
}

// LastCallToken says which token the last call carried, as far as it was observable.
func (o Observation) LastCallToken() string {
	switch {
	case !o.LastCallHeaderKnown:
		return "a token that was not observable"
	case o.LastCallRotated:
		return "a rotated token"
	}
	return "the start-up token"
}

// Observe summarizes what was seen of one client process.
func Observe(e Evidence) Observation {
	o := Observation{ClientGo: e.ClientGo, OneProcess: e.OneProcess, RestartedAt: e.RestartedAt}
	known := map[string]bool{}
	for _, t := range e.Tokens {
		if t.Hash == "" || known[t.Hash] {
			continue
		}
		known[t.Hash] = true
		t.Rotation = len(o.Tokens)
		o.Tokens = append(o.Tokens, t)
	}
	var open *Window
	for _, c := range e.Calls {
		o.observeCall(c, &open)
	}
	o.RotationsSeen = max(len(o.Tokens)-1, 0)
	return o
}

func (o *Observation) observeCall(c Call, open **Window) {
	o.Calls++
	if o.FirstCallAt.IsZero() {
		o.FirstCallAt = c.At
	}
	o.LastCallAt = c.At
	first, haveFirst := o.FirstToken()
	rotated := c.Token != "" && haveFirst && c.Token != first.Hash
	if c.Token != "" {
		o.CallsWithHeader++
	} else if c.TokenNote != "" {
		o.HeaderNote = c.TokenNote
	}
	if rotated {
		o.HeaderRotated = true
	}
	o.LastCallRotated, o.LastCallHeaderKnown = rotated, c.Token != ""
	t := c.At
	switch c.Outcome {
	case OutcomeOK:
		o.OKCount++
		o.LastOKAt = &t
		if rotated {
			o.LastRotatedOKAt = &t
		}
		if o.FirstUnauthorizedAt != nil {
			o.OKAfterFirst401++
		}
		*open = nil
	case OutcomeUnauthorized:
		o.UnauthorizedCount++
		if o.FirstUnauthorizedAt == nil {
			o.FirstUnauthorizedAt = &t
		}
		switch {
		case haveFirst && c.Token == first.Hash:
			o.UnauthorizedWithFirstToken++
		case rotated:
			o.UnauthorizedWithOtherToken++
		}
		if *open == nil {
			o.UnauthorizedWindows = append(o.UnauthorizedWindows, Window{Start: t})
			*open = &o.UnauthorizedWindows[len(o.UnauthorizedWindows)-1]
		}
		(*open).End = t
		(*open).Calls++
	default:
		o.ErrorCount++
		if o.FirstUnauthorizedAt != nil && c.Status != 0 {
			o.OtherAfterFirst401++
		}
		if len(o.Errors) < 3 {
			o.Errors = append(o.Errors, string(c.Outcome)+": "+c.Error)
		}
	}
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// Params are the settings a verdict depends on.
type Params struct {
	// Interval is the client's call spacing (the probe's --interval), or, for a workload
	// of unknown cadence, the tolerance of the token's timing: a first 401 up to one
	// Interval before exp + leeway is still an expiry.
	Interval time.Duration
	Leeway   time.Duration // ValidatorLeeway unless the apiserver says otherwise
	// Late is how long after exp + leeway + the auth cache the first 401 may come: two
	// intervals for a client that calls steadily, the longest gap between calls a
	// workload may leave (its watch timeout) otherwise.
	Late time.Duration
	// MinSettle is how long 401s must be observed for FAILS_AFTER_EXPIRY (default MinSettle).
	MinSettle time.Duration
}

// Steady is the parameters for a client that calls every interval (the probes).
func Steady(interval time.Duration) Params {
	return Params{Interval: interval, Leeway: ValidatorLeeway, Late: 2 * interval, MinSettle: MinSettle}
}

// Result is a verdict with the reason, in words, drawn from the data, and — when the data
// could not decide — what to do about it.
type Result struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	Hint    string  `json:"hint,omitempty"`
}

// Judge draws the verdict from an observation. Each rule states the evidence it needs;
// anything short of it is NOT_JUDGED.
func Judge(o Observation, p Params) Result {
	if p.MinSettle == 0 {
		p.MinSettle = MinSettle
	}
	first, ok := o.FirstToken()
	switch {
	case !ok:
		return notJudged("no token was observed", "check that the client mounts a ServiceAccount token")
	case first.Exp.IsZero():
		return notJudged("the first token has no exp claim", "check the token projection")
	case o.Calls == 0:
		return notJudged("no API call was observed", "exercise the client so that it calls the API after its token expires")
	case float64(o.ErrorCount) > maxErrorRatio*float64(o.Calls):
		return notJudged(fmt.Sprintf("%d of %d calls failed without an HTTP answer or with a status other than 401 (e.g. %v)", o.ErrorCount, o.Calls, o.Errors),
			"fix the network or permissions; the token's effect is hidden behind these failures")
	}
	refused := first.Exp.Add(p.Leeway) // the apiserver rejects the first token from here on
	if o.FirstUnauthorizedAt == nil {
		return judgeNo401(o, first, refused, p)
	}
	at := *o.FirstUnauthorizedAt
	if at.Before(refused.Add(-p.Interval)) {
		return notJudged(fmt.Sprintf("first 401 at exp%s, before the first token stopped being accepted (exp+%s): not a token-expiry failure", Offset(at, first.Exp), p.Leeway),
			"look for another cause of the 401 (revoked token, deleted ServiceAccount, audience)")
	}
	if o.OKAfterFirst401 > 0 {
		reason := fmt.Sprintf("%d 401s in %d window(s) from exp%s on, then %d successful calls", o.UnauthorizedCount, len(o.UnauthorizedWindows), Offset(at, first.Exp), o.OKAfterFirst401)
		if o.OneProcess {
			reason += " in the same process"
		}
		return Result{Verdict: Intermittent, Reason: reason}
	}
	return judgeFails(o, first, refused, p)
}

// judgeFails checks a client that got 401 and never succeeded again.
func judgeFails(o Observation, first Token, refused time.Time, p Params) Result {
	at := *o.FirstUnauthorizedAt
	latest := refused.Add(AuthCacheTTL + p.Late)
	// The 401s form one window (no success followed); its end bounds what was observed.
	settled := o.UnauthorizedWindows[len(o.UnauthorizedWindows)-1].End.Sub(at)
	switch {
	case at.After(latest):
		return notJudged(fmt.Sprintf("first 401 at exp%s, later than the first token's refusal allows (exp+%s)", Offset(at, first.Exp), latest.Sub(first.Exp)),
			"a 401 this late has another cause than the token's expiry; read the client's log")
	case o.LastOKAt != nil && o.LastOKAt.After(refused.Add(AuthCacheTTL)):
		return notJudged(fmt.Sprintf("a call succeeded at exp%s, after the first token stopped being accepted, before the 401s from exp%s",
			Offset(*o.LastOKAt, first.Exp), Offset(at, first.Exp)), "read the client's log: it sent a valid token and then an invalid one")
	case o.UnauthorizedWithOtherToken > 0:
		return notJudged(fmt.Sprintf("%d of %d 401s carried a rotated token: the client re-read the file and was still refused", o.UnauthorizedWithOtherToken, o.UnauthorizedCount),
			"this is not a client that reads its token once; check the token's audience and the ServiceAccount")
	case o.OtherAfterFirst401 > 0:
		return notJudged(fmt.Sprintf("after the first 401, %d calls got an HTTP answer other than 401", o.OtherAfterFirst401),
			"read the client's log: the 401s are not the only failure")
	case settled < p.MinSettle:
		return notJudged(fmt.Sprintf("401 from exp%s on, but the last 401 came %s later, short of %s of refusals", Offset(at, first.Exp), settled.Round(time.Second), p.MinSettle),
			"watch longer after the first 401 (--settle)")
	}
	reason := fmt.Sprintf("ok until the first token expired; 401 from exp%s on, on every call (%d) for %s", Offset(at, first.Exp), o.UnauthorizedCount, settled.Round(time.Second))
	switch {
	case o.UnauthorizedWithFirstToken == o.UnauthorizedCount:
		reason += ", every one carrying the start-up token"
	case o.UnauthorizedWithFirstToken > 0:
		reason += fmt.Sprintf(", %d carrying the start-up token (the others' token not observable)", o.UnauthorizedWithFirstToken)
	default:
		reason += " (the token sent is not observable)"
	}
	if o.RotationsSeen > 0 {
		reason += fmt.Sprintf("; the token was rotated %d time(s)", o.RotationsSeen)
	}
	return Result{Verdict: FailsAfterExpiry, Reason: reason}
}

// judgeNo401 checks a client that was never refused: RELOADS needs a success, after the
// first token stopped being accepted, with a token other than the start-up one.
func judgeNo401(o Observation, first Token, refused time.Time, p Params) Result {
	after := refused.Add(AuthCacheTTL) // the first token cannot work past this
	switch {
	case o.LastCallAt.Before(after):
		return notJudged(fmt.Sprintf("no API call after the first token stopped being accepted at exp+%s; the last call, at exp%s, carried %s", after.Sub(first.Exp), Offset(o.LastCallAt, first.Exp), o.LastCallToken()),
			"watch longer after the token expires (run: --settle; check: --wait-for-call), or exercise the client so that it calls the API then")
	case o.RotationsSeen == 0 && o.HeaderNote == "":
		return notJudged("no 401 and a single token: was the token's expiry extended?", "check the apiserver's --service-account-extend-token-expiration and the token's exp")
	case o.LastRotatedOKAt != nil && o.LastRotatedOKAt.After(after):
		return Result{Verdict: Reloads, Reason: fmt.Sprintf("token rotated %d time(s); calls succeeded with a rotated token after the first one stopped being accepted (last at exp%s); no 401 in %d calls",
			o.RotationsSeen, Offset(*o.LastRotatedOKAt, first.Exp), o.Calls)}
	case o.CallsWithHeader == 0 && o.HeaderNote != "" && o.RotationsSeen > 0 && o.LastOKAt != nil && o.LastOKAt.After(after):
		// Without any observable header, a success after the first token cannot have
		// worked any more shows a newer one was sent.
		return Result{Verdict: Reloads, Reason: fmt.Sprintf("token file rotated %d time(s); calls kept succeeding after the first token stopped being accepted (last at exp%s); no 401 (header not observable: %s)",
			o.RotationsSeen, Offset(*o.LastOKAt, first.Exp), o.HeaderNote)}
	}
	return notJudged("no 401, but no successful call after the first token stopped being accepted carried a rotated token",
		"watch longer after the token expires (run: --settle; check: --settle and --wait-for-call); if the header is never observable, read the client's log")
}

func notJudged(reason, hint string) Result {
	return Result{Verdict: NotJudged, Reason: reason, Hint: hint}
}

// Offset renders t relative to ref as "+61s" / "-3s".
func Offset(t, ref time.Time) string {
	d := t.Sub(ref).Round(time.Second)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
