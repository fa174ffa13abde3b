// Package verdict turns one client's observed calls into a verdict. Every verdict is
// derived from observed data — call outcomes, token claims, the hash of the credential
// actually sent — never from the client's version. When the data cannot decide, the
// verdict is NOT_JUDGED with the reason and what to do: never a pass.
package verdict

import (
	"fmt"
	"strings"
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

// maxErrorRatio bounds failures that are neither 401 nor part of a gap (runs of unanswered
// calls, weighed by blindSpot): beyond it the environment, not the token, was the problem
// and no verdict is drawn.
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
	// Unanswered are the runs of calls that got no answer at all (Start: the last answered
	// call before, End: the first after, or the run's last call): what the client saw of an
	// apiserver or network outage. Only runs of two calls or more count as a gap.
	Unanswered   []Window `json:"unansweredRuns,omitempty"`
	lastAnswered time.Time
	// evidence is what the observation was made of: a gap is weighed by judging what was
	// seen before it.
	evidence Evidence
	Errors   []string `json:"sampleErrors,omitempty"`
	// Credentials are the token versions the calls carried, in the order first used (the
	// start-up token first when it was used); a reload shows as a switch to the next one.
	Credentials []Credential `json:"credentials,omitempty"`
	// unauthorizedBy counts 401s per credential carried ("" when not observable).
	unauthorizedBy map[string]int
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

// Credential is one token version as the client's calls carried it.
type Credential struct {
	Hash        string     `json:"hash"`
	FirstUsedAt time.Time  `json:"firstUsedAt"`
	LastOKAt    *time.Time `json:"lastOkAt,omitempty"`
	// Exp is the version's exp, when its JWT (probe log) or the TokenRequest that issued it
	// (audit log) is known; zero otherwise.
	Exp time.Time `json:"exp,omitzero"`
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
	o := Observation{ClientGo: e.ClientGo, OneProcess: e.OneProcess, RestartedAt: e.RestartedAt, evidence: e}
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
	o.closeUnanswered()
	o.RotationsSeen = max(len(o.Tokens)-1, 0)
	for i := range o.Credentials {
		for _, t := range o.Tokens {
			if t.Hash == o.Credentials[i].Hash {
				o.Credentials[i].Exp = t.Exp
			}
		}
	}
	return o
}

// credential returns the entry of the credential hash, adding it at first use.
func (o *Observation) credential(hash string, at time.Time) *Credential {
	for i := range o.Credentials {
		if o.Credentials[i].Hash == hash {
			return &o.Credentials[i]
		}
	}
	o.Credentials = append(o.Credentials, Credential{Hash: hash, FirstUsedAt: at})
	return &o.Credentials[len(o.Credentials)-1]
}

// switches counts the client's moves to a newer credential in successful calls: the
// credentials that worked, but the first.
func (o Observation) switches() int {
	n := 0
	for _, c := range o.Credentials {
		if c.LastOKAt != nil {
			n++
		}
	}
	return max(n-1, 0)
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
	var cred *Credential
	if c.Token != "" {
		cred = o.credential(c.Token, t)
	}
	if c.Outcome == OutcomeOK || c.Outcome == OutcomeUnauthorized || c.Status != 0 {
		if n := len(o.Unanswered); n > 0 && o.Unanswered[n-1].End.IsZero() {
			o.Unanswered[n-1].End = t
		}
		o.lastAnswered = t
	} else {
		o.noAnswer(t)
	}
	switch c.Outcome {
	case OutcomeOK:
		o.OKCount++
		o.LastOKAt = &t
		if rotated {
			o.LastRotatedOKAt = &t
		}
		if cred != nil {
			cred.LastOKAt = &t
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
		if o.unauthorizedBy == nil {
			o.unauthorizedBy = map[string]int{}
		}
		o.unauthorizedBy[c.Token]++
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

// noAnswer records a call at t that got no answer.
func (o *Observation) noAnswer(t time.Time) {
	if n := len(o.Unanswered); n > 0 && o.Unanswered[n-1].End.IsZero() {
		o.Unanswered[n-1].Calls++
		return
	}
	start := o.lastAnswered
	if start.IsZero() {
		start = t
	}
	o.Unanswered = append(o.Unanswered, Window{Start: start, Calls: 1})
}

// closeUnanswered ends a run still open at the last call, and keeps the runs of two
// calls or more.
func (o *Observation) closeUnanswered() {
	runs := o.Unanswered[:0]
	for _, w := range o.Unanswered {
		if w.End.IsZero() {
			w.End = o.LastCallAt
		}
		if w.Calls >= 2 {
			runs = append(runs, w)
		}
	}
	o.Unanswered = runs
	if len(runs) == 0 {
		o.Unanswered = nil
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
	// Outages are the spans in which satoken's own polling found the apiserver unavailable.
	Outages []Outage
	// gapsBefore, when set, leaves out the gaps that start at or after it (a gap is
	// weighed by judging without it).
	gapsBefore time.Time
}

// Outage is a span in which the apiserver did not answer: From is the last answer before
// it, To the first after.
type Outage struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// AfterOutage is how long after an outage a 401 is not told apart from a restarting
// apiserver's: until its informers have synced, it refuses tokens whose pod or secret it
// cannot find yet.
const AfterOutage = 30 * time.Second

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
// anything short of it is NOT_JUDGED — and when the client's process restarted (a
// container restart ends the observation), the reason says so.
func Judge(o Observation, p Params) Result {
	r := decide(o, p)
	if r.Verdict == NotJudged && o.RestartedAt != nil {
		at := o.RestartedAt.UTC().Format(time.TimeOnly)
		if first, ok := o.FirstToken(); ok && !first.Exp.IsZero() {
			at += ", exp" + Offset(*o.RestartedAt, first.Exp)
		}
		r.Reason += fmt.Sprintf("; the client's process restarted at %s (its container restarted), which ends the observation: a new process reads the token anew", at)
	}
	return r
}

func decide(o Observation, p Params) Result {
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
	}
	if r, blind := o.blindSpot(first, p); blind {
		return r
	}
	switch {
	case float64(o.scatteredErrors()) > maxErrorRatio*float64(o.Calls):
		return notJudged(fmt.Sprintf("%d of %d calls failed without an HTTP answer or with a status other than 401 (e.g. %v)", o.scatteredErrors(), o.Calls, o.Errors),
			"fix the network or permissions; the token's effect is hidden behind these failures")
	}
	if o.FirstUnauthorizedAt == nil {
		return judgeNo401(o, first, p)
	}
	at := *o.FirstUnauthorizedAt
	ref, ok := o.expiring(at, p)
	if !ok {
		return notJudged(fmt.Sprintf("first 401 at exp%s, outside every token's refusal window (%s): not a token-expiry failure", Offset(at, first.Exp), o.windows(p)),
			"look for another cause of the 401 (revoked token, deleted ServiceAccount, audience)")
	}
	if o.OKAfterFirst401 > 0 {
		reason := fmt.Sprintf("%d 401s in %d window(s) from %s on, then %d successful calls", o.UnauthorizedCount, len(o.UnauthorizedWindows), ref.at(at, o), o.OKAfterFirst401)
		if o.OneProcess {
			reason += " in the same process"
		}
		return Result{Verdict: Intermittent, Reason: reason}
	}
	return judgeFails(o, ref, p)
}

// gap is a span of the observation in which no call was answered; what says which one.
type gap struct {
	from, to time.Time
	what     string
}

// gaps are the apiserver's outages and the client's own runs of unanswered calls.
func (o Observation) gaps(p Params) []gap {
	var out []gap
	for _, g := range p.Outages {
		out = append(out, gap{g.From, g.To, "the apiserver was unavailable (satoken's readiness polls)"})
	}
	for _, w := range o.Unanswered {
		out = append(out, gap{w.Start, w.End, fmt.Sprintf("%d calls of the client went without an HTTP answer", w.Calls)})
	}
	if !p.gapsBefore.IsZero() {
		kept := out[:0]
		for _, g := range out {
			if g.from.Before(p.gapsBefore) {
				kept = append(kept, g)
			}
		}
		out = kept
	}
	return out
}

// blindSpot refuses a verdict that would be built on a gap: a call the apiserver did not
// answer is neither a 401 nor a success, so a gap from the moment the first token may be
// refused on can hide what decides the verdict (a slow re-reader's 401s, a read-once
// client's first 401), and a 401 right after a gap may be the restarted apiserver's.
// A gap before the expiry with no 401 near it changes nothing, and neither does one after
// the verdict was decided: what was seen before it decides the same verdict as everything
// seen (the gap then only ends or interrupts the watch).
func (o Observation) blindSpot(first Token, p Params) (Result, bool) {
	opens := first.Exp.Add(p.Leeway - p.Interval) // the first token's refusal window
	const hint = "run again; if the apiserver restarted on its own, read its log (kind's logs in the artifacts)"
	for _, g := range o.gaps(p) {
		if g.to.Before(o.FirstCallAt) || g.from.After(o.LastCallAt) {
			continue
		}
		span := fmt.Sprintf("%s from %s to %s (exp%s to exp%s)", g.what,
			g.from.UTC().Format(time.TimeOnly), g.to.UTC().Format(time.TimeOnly), Offset(g.from, first.Exp), Offset(g.to, first.Exp))
		switch {
		case o.unauthorizedAfter(g.from, g.to.Add(AfterOutage)):
			return notJudged(span+fmt.Sprintf(", and a 401 came within %s after it: a restarting apiserver's refusals are not told apart from a token's expiry", AfterOutage), hint), true
		case g.to.Before(opens):
		case o.decidedBefore(g.from, p):
		default:
			return notJudged(span+fmt.Sprintf(", after the first token's refusal window opened at exp%s and before the data decided: a call without an answer is neither a 401 nor a success, so what decides the verdict was not observed", Offset(opens, first.Exp)), hint), true
		}
	}
	return Result{}, false
}

// decidedBefore: what was seen before t decides a verdict, and everything seen (gaps from
// t on left out) decides the same one.
func (o Observation) decidedBefore(t time.Time, p Params) bool {
	p.gapsBefore = t
	before := decide(Observe(o.evidence.before(t)), p)
	return before.Verdict != NotJudged && decide(o, p).Verdict == before.Verdict
}

// before is the evidence of what happened before t.
func (e Evidence) before(t time.Time) Evidence {
	out := e
	out.Tokens, out.Calls = nil, nil
	for _, tok := range e.Tokens {
		if tok.ReadAt.Before(t) {
			out.Tokens = append(out.Tokens, tok)
		}
	}
	for _, c := range e.Calls {
		if c.At.Before(t) {
			out.Calls = append(out.Calls, c)
		}
	}
	if e.RestartedAt != nil && !e.RestartedAt.Before(t) {
		out.RestartedAt = nil
	}
	return out
}

// scatteredErrors are the failed calls outside the gaps blindSpot has weighed.
func (o Observation) scatteredErrors() int {
	n := o.ErrorCount
	for _, w := range o.Unanswered {
		n -= w.Calls
	}
	return n
}

// unauthorizedAfter: some 401 was answered in (from, to].
func (o Observation) unauthorizedAfter(from, to time.Time) bool {
	for _, w := range o.UnauthorizedWindows {
		if !w.Start.After(to) && w.End.After(from) {
			return true
		}
	}
	return false
}

// expiry is a token version whose refusal a first 401 is taken for: the start-up token,
// or a later one the client used (firstUsed says when it began to).
type expiry struct {
	startUp   bool
	hash      string
	exp       time.Time
	firstUsed time.Time
}

// name says which token it is, for reasons.
func (e expiry) name(o Observation) string {
	if e.startUp {
		return "the first token"
	}
	first, _ := o.FirstToken()
	return fmt.Sprintf("the token it used from exp%s on", Offset(e.firstUsed, first.Exp))
}

// at renders t relative to this token's exp (the start-up token's: "exp+1m5s").
func (e expiry) at(t time.Time, o Observation) string {
	if e.startUp {
		return "exp" + Offset(t, e.exp)
	}
	return fmt.Sprintf("its exp%s (%s)", Offset(t, e.exp), e.name(o))
}

// expiries are the token versions whose refusal can explain a 401: the start-up token,
// and every later credential the client used whose exp is known.
func (o Observation) expiries() []expiry {
	first, _ := o.FirstToken()
	out := []expiry{{startUp: true, hash: first.Hash, exp: first.Exp}}
	for _, c := range o.Credentials {
		if c.Hash != first.Hash && !c.Exp.IsZero() {
			out = append(out, expiry{hash: c.Hash, exp: c.Exp, firstUsed: c.FirstUsedAt})
		}
	}
	return out
}

// window is when a token's refusal shows: from one interval before exp + leeway (a
// client's timing tolerance) to exp + leeway + the auth cache + Late.
func (e expiry) window(p Params) (from, to time.Time) {
	refused := e.exp.Add(p.Leeway)
	return refused.Add(-p.Interval), refused.Add(AuthCacheTTL + p.Late)
}

// expiring finds the token whose refusal window holds t: of several (a workload's
// windows are long), the newest one the client had used by then.
func (o Observation) expiring(t time.Time, p Params) (expiry, bool) {
	all := o.expiries()
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if from, to := e.window(p); !t.Before(from) && !t.After(to) && !e.firstUsed.After(t) {
			return e, true
		}
	}
	return expiry{}, false
}

// windows lists the refusal windows relative to the start-up token's exp, for reasons.
func (o Observation) windows(p Params) string {
	first, _ := o.FirstToken()
	var parts []string
	for _, e := range o.expiries() {
		from, to := e.window(p)
		parts = append(parts, fmt.Sprintf("%s: exp%s to exp%s", e.name(o), Offset(from, first.Exp), Offset(to, first.Exp)))
	}
	return strings.Join(parts, "; ")
}

// judgeFails checks a client that got 401 and never succeeded again: ok until token ref
// stopped being accepted, then refused on every call, for long enough.
func judgeFails(o Observation, ref expiry, p Params) Result {
	at := *o.FirstUnauthorizedAt
	refused := ref.exp.Add(p.Leeway)
	// The 401s form one window (no success followed); its end bounds what was observed.
	settled := o.UnauthorizedWindows[len(o.UnauthorizedWindows)-1].End.Sub(at)
	other := 0
	for hash, n := range o.unauthorizedBy {
		if hash != "" && hash != ref.hash {
			other += n
		}
	}
	switch {
	case o.OKCount == 0:
		return notJudged(fmt.Sprintf("401 from %s on, and no call ever succeeded: the client was not seen working before its token expired", ref.at(at, o)),
			"check the client's RBAC and configuration; a token-expiry failure needs calls that worked first")
	case o.LastOKAt != nil && o.LastOKAt.After(refused.Add(AuthCacheTTL)):
		return notJudged(fmt.Sprintf("a call succeeded at %s, after %s stopped being accepted, before the 401s from %s",
			ref.at(*o.LastOKAt, o), ref.name(o), ref.at(at, o)), "read the client's log: it sent a valid token and then an invalid one")
	case other > 0:
		return notJudged(fmt.Sprintf("%d of %d 401s carried another token than %s: the client re-read the file and was still refused", other, o.UnauthorizedCount, ref.name(o)),
			"this is not a client that reads its token once; check the token's audience and the ServiceAccount")
	case o.OtherAfterFirst401 > 0:
		return notJudged(fmt.Sprintf("after the first 401, %d calls got an HTTP answer other than 401", o.OtherAfterFirst401),
			"read the client's log: the 401s are not the only failure")
	case settled < p.MinSettle:
		return notJudged(fmt.Sprintf("401 from %s on, but the last 401 came %s later, short of %s of refusals", ref.at(at, o), settled.Round(time.Second), p.MinSettle),
			"watch longer after the first 401 (--settle)")
	}
	reason := fmt.Sprintf("ok until %s expired; 401 from %s on, on every call (%d) for %s", ref.name(o), ref.at(at, o), o.UnauthorizedCount, settled.Round(time.Second))
	switch with := o.unauthorizedBy[ref.hash]; {
	case with == o.UnauthorizedCount:
		reason += fmt.Sprintf(", every one carrying %s", map[bool]string{true: "the start-up token", false: "that token"}[ref.startUp])
	case with > 0:
		reason += fmt.Sprintf(", %d carrying that token (the others' token not observable)", with)
	default:
		reason += " (the token sent is not observable)"
	}
	if o.RotationsSeen > 0 {
		reason += fmt.Sprintf("; the token was rotated %d time(s)", o.RotationsSeen)
	}
	return Result{Verdict: FailsAfterExpiry, Reason: reason}
}

// judgeNo401 checks a client that was never refused. RELOADS needs a success, after the
// first token stopped being accepted, with a token other than the start-up one — and the
// reload shown to be a habit, not a single late read: a second switch to a newer token
// (a client that read its token once, late, or re-reads on a timer slower than the
// kubelet's rotation, switches at most once before the token it holds expires too).
func judgeNo401(o Observation, first Token, p Params) Result {
	after := first.Exp.Add(p.Leeway + AuthCacheTTL) // the first token cannot work past this
	switch {
	case o.LastCallAt.Before(after):
		return notJudged(fmt.Sprintf("no API call after the first token stopped being accepted at exp+%s; the last call, at exp%s, carried %s", after.Sub(first.Exp), Offset(o.LastCallAt, first.Exp), o.LastCallToken()),
			"watch longer after the token expires (run: --settle; check: --wait-for-call), or exercise the client so that it calls the API then")
	case o.RotationsSeen == 0 && o.HeaderNote == "":
		return notJudged("no 401 and a single token: was the token's expiry extended?", "check the apiserver's --service-account-extend-token-expiration and the token's exp")
	case o.LastRotatedOKAt != nil && o.LastRotatedOKAt.After(after):
		if o.switches() < 2 {
			return notJudged(fmt.Sprintf("switched to a rotated token once (last success with it at exp%s; no 401 in %d calls), but was not seen switching again: %s",
				Offset(*o.LastRotatedOKAt, first.Exp), o.Calls, o.secondSwitchNeed(p)),
				"watch until the token it switched to has expired too (run: --settle; check extends its watch by itself)")
		}
		return Result{Verdict: Reloads, Reason: fmt.Sprintf("switched to a newer token %d times, with calls succeeding after the first token stopped being accepted (last at exp%s); no 401 in %d calls",
			o.switches(), Offset(*o.LastRotatedOKAt, first.Exp), o.Calls)}
	case o.CallsWithHeader == 0 && o.HeaderNote != "" && o.RotationsSeen > 0 && o.LastOKAt != nil && o.LastOKAt.After(after):
		// Without any observable header, a success after the first token cannot have
		// worked any more shows a newer one was sent — once; past the second version's
		// refusal, again.
		second := o.Tokens[1]
		if second.Exp.IsZero() || o.RotationsSeen < 2 || !o.LastOKAt.After(second.Exp.Add(p.Leeway+AuthCacheTTL)) {
			return notJudged(fmt.Sprintf("token file rotated %d time(s) and calls kept succeeding after the first token stopped being accepted (last at exp%s), but not past the second version's refusal (header not observable: %s)",
				o.RotationsSeen, Offset(*o.LastOKAt, first.Exp), o.HeaderNote),
				"watch until the second token version has expired too (run: --settle)")
		}
		return Result{Verdict: Reloads, Reason: fmt.Sprintf("token file rotated %d time(s); calls kept succeeding after the first and the second token version stopped being accepted (last at exp%s); no 401 (header not observable: %s)",
			o.RotationsSeen, Offset(*o.LastOKAt, first.Exp), o.HeaderNote)}
	}
	return notJudged("no 401, but no successful call after the first token stopped being accepted carried a rotated token",
		"watch longer after the token expires (run: --settle; check: --settle and --wait-for-call); if the header is never observable, read the client's log")
}

// secondSwitchNeed says until when the single switch must be watched.
func (o Observation) secondSwitchNeed(p Params) string {
	first, _ := o.FirstToken()
	if c, ok := o.switchedTo(); ok && !c.Exp.IsZero() {
		return fmt.Sprintf("the token it switched to expires at exp%s and stops being accepted at exp%s; the watch ended at exp%s",
			Offset(c.Exp, first.Exp), Offset(c.Exp.Add(p.Leeway+AuthCacheTTL), first.Exp), Offset(o.LastCallAt, first.Exp))
	}
	return "the exp of the token it switched to is not known"
}

// switchedTo is the first credential after the start-up one that a call succeeded with.
func (o Observation) switchedTo() (Credential, bool) {
	first, _ := o.FirstToken()
	for _, c := range o.Credentials {
		if c.Hash != first.Hash && c.LastOKAt != nil {
			return c, true
		}
	}
	return Credential{}, false
}

// ReloadProofUntil is, for a client seen switching to a newer token once and never
// refused, how long it must be watched for the second switch RELOADS needs: until the
// token it switched to stops being accepted (exp + leeway + the auth cache) and Late
// more for a call. ok is false when nothing more is needed (or nothing can be known).
func ReloadProofUntil(o Observation, p Params) (time.Time, bool) {
	if o.FirstUnauthorizedAt != nil || o.switches() >= 2 {
		return time.Time{}, false
	}
	c, ok := o.switchedTo()
	if !ok || c.Exp.IsZero() {
		return time.Time{}, false
	}
	return c.Exp.Add(p.Leeway + AuthCacheTTL + p.Late), true
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
