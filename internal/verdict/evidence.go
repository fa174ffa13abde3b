package verdict

import (
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

// Evidence is what was seen of one client process, whatever the source: a probe's own
// log (FromProbeLog) or the apiserver's audit log (satoken check). The rules read only
// this model, so both sources are judged alike.
type Evidence struct {
	// OneProcess: the source marks process starts, so everything in it was done by one
	// process. Audit evidence cannot tell.
	OneProcess bool
	ClientGo   string // the client-go version the process reported, if any
	// RestartedAt is when a second process started; nothing after it is included.
	RestartedAt *time.Time
	// Tokens are the token versions in the order the client got them: the first is its
	// start-up token. Hash identifies a version; Iat/Exp may be unknown for later ones.
	Tokens []Token
	Calls  []Call // in time order
}

// Outcome is how the apiserver answered a call.
type Outcome string

const (
	OutcomeOK           Outcome = probelog.OutcomeOK           // authenticated (any answer but 401, for a workload)
	OutcomeUnauthorized Outcome = probelog.OutcomeUnauthorized // 401
	// Any other outcome is a failure that says nothing about the token: an HTTP error
	// ("http-<code>", with Status) or no answer at all ("error").
)

// Call is one API call.
type Call struct {
	At      time.Time
	Outcome Outcome
	Status  int // HTTP status, when known
	// Token is the version (Token.Hash) of the credential the call carried, "" when not
	// observable (TokenNote says why).
	Token     string
	TokenNote string
	Error     string
}

// FromProbeLog is the evidence of a probe's log (its lines in the order written), up to
// the start of a second process.
func FromProbeLog(lines []probelog.Line) Evidence {
	var e Evidence
	started := false
	for _, l := range lines {
		switch l.Kind {
		case probelog.KindStart:
			if started {
				t := l.Time
				e.RestartedAt = &t
				return e
			}
			started, e.OneProcess = true, true
			e.ClientGo = l.ClientGo
		case probelog.KindToken:
			if l.TokenHash != "" {
				e.Tokens = append(e.Tokens, Token{Hash: l.TokenHash, Iat: unix(l.Iat), Exp: unix(l.Exp), ReadAt: l.Time})
			}
		case probelog.KindCall:
			e.Calls = append(e.Calls, Call{At: l.Time, Outcome: Outcome(l.Outcome), Status: l.Status,
				Token: l.AuthHash, TokenNote: l.AuthHashNote, Error: l.Error})
		}
	}
	return e
}
