// Package verdict turns one probe's observed log into a verdict. Every verdict is derived
// from the probe's own data — call outcomes, token claims read from the JWT file, the hash
// of the Authorization header actually sent — never from the client-go version.
package verdict

import (
	"fmt"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

// Verdict classifies how a client lived through its first token's expiry.
type Verdict string

const (
	// Reloads: the token file rotated, the client sent the new token, no 401.
	Reloads Verdict = "RELOADS"
	// FailsAfterExpiry: success until the first token expired, then 401 on every call; the
	// first 401 within [exp, exp + leeway + auth cache + 2 intervals].
	FailsAfterExpiry Verdict = "FAILS_AFTER_EXPIRY"
	// Intermittent: 401s, then success again without a restart (slow re-read).
	Intermittent Verdict = "INTERMITTENT"
	// NotJudged: the data cannot decide (too little, or it fits no rule); the reason says
	// why and what to do. Never a pass.
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

// maxErrorRatio bounds non-HTTP failures (timeouts, refused connections): beyond it the
// environment, not the token, was the problem and no verdict is drawn.
const maxErrorRatio = 0.1

// Token is one version of the token file as the probe read it.
type Token struct {
	Hash     string    `json:"hash"`
	Iat      time.Time `json:"iat"`
	Exp      time.Time `json:"exp"`
	ReadAt   time.Time `json:"readAt"`
	Rotation int       `json:"rotation"` // 0 for the token the probe started with
}

// Window is a run of consecutive 401 answers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Calls int       `json:"calls"`
}

// Observation is what one probe pod's log shows.
type Observation struct {
	ClientGo            string     `json:"clientGoReported,omitempty"` // from the probe's build info
	Tokens              []Token    `json:"tokens"`
	RotationsSeen       int        `json:"rotationsSeen"`
	HeaderRotated       bool       `json:"headerRotated"` // a call carried a token other than the first
	HeaderNote          string     `json:"headerNote,omitempty"`
	Calls               int        `json:"calls"`
	OKCount             int        `json:"okCount"`
	UnauthorizedCount   int        `json:"unauthorizedCount"`
	ErrorCount          int        `json:"errorCount"` // neither ok nor 401
	FirstCallAt         time.Time  `json:"firstCallAt"`
	LastCallAt          time.Time  `json:"lastCallAt"`
	FirstUnauthorizedAt *time.Time `json:"firstUnauthorizedAt,omitempty"`
	LastOKAt            *time.Time `json:"lastOkAt,omitempty"`
	OKAfterFirst401     int        `json:"okAfterFirstUnauthorized"`
	// UnauthorizedWithFirstToken counts 401s whose request carried the start-up token:
	// the direct evidence that the client never re-read the file.
	UnauthorizedWithFirstToken int      `json:"unauthorizedWithFirstToken"`
	UnauthorizedWindows        []Window `json:"unauthorizedWindows,omitempty"`
	Errors                     []string `json:"sampleErrors,omitempty"`
}

// FirstToken is the token the probe started with, if it logged one.
func (o Observation) FirstToken() (Token, bool) {
	if len(o.Tokens) == 0 {
		return Token{}, false
	}
	return o.Tokens[0], true
}

// Observe summarizes a probe's log lines (in time order, as written).
func Observe(lines []probelog.Line) Observation {
	var o Observation
	known := map[string]bool{}
	var open *Window
	for _, l := range lines {
		switch l.Kind {
		case probelog.KindStart:
			o.ClientGo = l.ClientGo
		case probelog.KindToken:
			if l.TokenHash == "" || known[l.TokenHash] {
				continue
			}
			known[l.TokenHash] = true
			o.Tokens = append(o.Tokens, Token{Hash: l.TokenHash, Iat: unix(l.Iat), Exp: unix(l.Exp), ReadAt: l.Time, Rotation: len(o.Tokens)})
		case probelog.KindCall:
			o.observeCall(l, &open)
		}
	}
	o.RotationsSeen = max(len(o.Tokens)-1, 0)
	return o
}

func (o *Observation) observeCall(l probelog.Line, open **Window) {
	o.Calls++
	if o.FirstCallAt.IsZero() {
		o.FirstCallAt = l.Time
	}
	o.LastCallAt = l.Time
	first, haveFirst := o.FirstToken()
	if l.AuthHash != "" && haveFirst && l.AuthHash != first.Hash {
		o.HeaderRotated = true
	}
	if l.AuthHash == "" && l.AuthHashNote != "" {
		o.HeaderNote = l.AuthHashNote
	}
	switch l.Outcome {
	case probelog.OutcomeOK:
		o.OKCount++
		t := l.Time
		o.LastOKAt = &t
		if o.FirstUnauthorizedAt != nil {
			o.OKAfterFirst401++
		}
		*open = nil
	case probelog.OutcomeUnauthorized:
		o.UnauthorizedCount++
		if o.FirstUnauthorizedAt == nil {
			t := l.Time
			o.FirstUnauthorizedAt = &t
		}
		if haveFirst && l.AuthHash == first.Hash {
			o.UnauthorizedWithFirstToken++
		}
		if *open == nil {
			o.UnauthorizedWindows = append(o.UnauthorizedWindows, Window{Start: l.Time})
			*open = &o.UnauthorizedWindows[len(o.UnauthorizedWindows)-1]
		}
		(*open).End = l.Time
		(*open).Calls++
	default:
		o.ErrorCount++
		if len(o.Errors) < 3 {
			o.Errors = append(o.Errors, l.Outcome+": "+l.Error)
		}
	}
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// Params are the run settings a verdict depends on.
type Params struct {
	Interval time.Duration // the probe's poll interval
	Leeway   time.Duration // ValidatorLeeway unless the apiserver says otherwise
}

// Result is a verdict with the reason, in words, drawn from the data.
type Result struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// Judge draws the verdict from an observation.
func Judge(o Observation, p Params) Result {
	first, ok := o.FirstToken()
	switch {
	case !ok:
		return unexpected("the probe logged no readable token")
	case first.Exp.IsZero():
		return unexpected("the first token has no exp claim")
	case o.Calls == 0:
		return unexpected("the probe made no calls")
	case float64(o.ErrorCount) > maxErrorRatio*float64(o.Calls):
		return unexpected(fmt.Sprintf("%d of %d calls failed without an HTTP answer or with a status other than 401 (e.g. %v)", o.ErrorCount, o.Calls, o.Errors))
	}
	expired := first.Exp.Add(p.Leeway) // the apiserver rejects the first token from here on
	if o.FirstUnauthorizedAt == nil {
		return judgeNo401(o, first, expired, p)
	}
	at := *o.FirstUnauthorizedAt
	if o.OKAfterFirst401 > 0 {
		return Result{Intermittent, fmt.Sprintf("%d 401s in %d window(s), first at exp%s, then %d successful calls without a restart",
			o.UnauthorizedCount, len(o.UnauthorizedWindows), offset(at, first.Exp), o.OKAfterFirst401)}
	}
	latest := expired.Add(AuthCacheTTL + 2*p.Interval)
	if at.Before(first.Exp) || at.After(latest) {
		return unexpected(fmt.Sprintf("401 from exp%s on, outside the expiry window [exp, exp+%s]", offset(at, first.Exp), latest.Sub(first.Exp)))
	}
	reason := fmt.Sprintf("ok until the first token expired; 401 from exp%s on, %d of %d calls", offset(at, first.Exp), o.UnauthorizedCount, o.Calls)
	if o.UnauthorizedWithFirstToken > 0 {
		reason += fmt.Sprintf(" (%d carrying the start-up token)", o.UnauthorizedWithFirstToken)
	}
	if o.RotationsSeen > 0 {
		reason += fmt.Sprintf("; %d rotation(s) of the file ignored", o.RotationsSeen)
	}
	return Result{FailsAfterExpiry, reason}
}

func judgeNo401(o Observation, first Token, expired time.Time, p Params) Result {
	if o.LastCallAt.Before(expired.Add(p.Interval)) {
		return unexpected(fmt.Sprintf("no 401, but observation ended at exp%s, before the first token stopped being accepted", offset(o.LastCallAt, first.Exp)))
	}
	if o.RotationsSeen == 0 {
		return unexpected("no 401 and no rotation of the token file: was the token's expiry extended?")
	}
	switch {
	case o.HeaderRotated:
		return Result{Reloads, fmt.Sprintf("token file rotated %d time(s), the Authorization header followed, no 401 in %d calls", o.RotationsSeen, o.Calls)}
	case o.HeaderNote != "" && o.LastOKAt != nil && o.LastOKAt.After(expired):
		// Without a header hash, a success after the apiserver stopped accepting the first
		// token shows a newer one was sent.
		return Result{Reloads, fmt.Sprintf("token file rotated %d time(s), calls kept succeeding after the first token expired (header not observable: %s)", o.RotationsSeen, o.HeaderNote)}
	}
	return unexpected("no 401, yet every observed request carried the start-up token")
}

func unexpected(reason string) Result { return Result{NotJudged, reason} }

// offset renders t relative to ref as "+61s" / "-3s".
func offset(t, ref time.Time) string {
	d := t.Sub(ref).Round(time.Second)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
