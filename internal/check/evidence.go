package check

import (
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// startUpToken names the pod's first token version (its JTI is not in the audit log
// until it is used).
const startUpToken = "start-up"

const noCredentialID = "the audit events carry no credential-id (Kubernetes before 1.29?): token rotation not observable"

// observe reads the pod's evidence from the apiserver's audit events alone: one call per
// request of the pod (authenticated requests by the pod UID bound into their token, 401s
// as owns attributes them) and one token version per credential ID (the token's JTI).
// unattributed counts the 401s from the pod's address that owns cannot attribute to it or
// to any one pod. The first token's iat/exp come from anchorToken; a later token's exp
// from the kubelet's latest TokenRequest for the pod before the token was first used
// (the latest it can be), else its first use plus the first token's lifetime.
func observe(events []audit.Event, issues []audit.TokenIssue, uid types.UID, owns func(audit.Event) (mine, unattributed bool), iat, exp time.Time, maxTTL time.Duration) (o verdict.Observation, unattributed int) {
	seen := map[string]bool{}
	var mine []audit.Event
	for _, e := range events {
		if seen[e.AuditID] || e.Code() == 0 {
			continue // one line per request, whatever its stages
		}
		ours := e.PodUID() == string(uid)
		if e.Code() == 401 {
			var lost bool
			if ours, lost = owns(e); lost {
				seen[e.AuditID] = true
				unattributed++
			}
		}
		if ours {
			seen[e.AuditID] = true
			mine = append(mine, e)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Received.Before(mine[j].Received) })

	// The start-up token anchors the expiry whether or not a call used it.
	ev := verdict.Evidence{Tokens: []verdict.Token{{Hash: startUpToken, Iat: iat, Exp: exp, ReadAt: iat}}}
	first := ""
	for _, e := range mine {
		// Every attributed answer but a 401 was authenticated as the pod (a 403 or 404 is
		// the workload's business, not its token's): for the verdict it is a success.
		c := verdict.Call{At: e.Received, Outcome: verdict.OutcomeOK, Status: e.Code()}
		switch cred := e.CredentialID(); {
		case e.Code() == 401:
			c.Outcome = verdict.OutcomeUnauthorized // no credential ID: authentication failed
		case cred == "":
			c.TokenNote = noCredentialID
		default:
			// The first credential the pod used is its start-up token; later ones are
			// rotations.
			id := tokeninfo.Hash(cred)
			if first == "" {
				first = id
			}
			c.Token = startUpToken
			if id != first {
				c.Token = id
				if !slices.ContainsFunc(ev.Tokens, func(t verdict.Token) bool { return t.Hash == id }) {
					ev.Tokens = append(ev.Tokens, verdict.Token{Hash: id, ReadAt: e.Received, Exp: issuedExp(issues, uid, e.Received, exp.Sub(iat), maxTTL)})
				}
			}
		}
		ev.Calls = append(ev.Calls, c)
	}
	return verdict.Observe(ev), unattributed
}

// issuedExp is the exp of a token of pod uid first used at: issued by the kubelet's
// latest TokenRequest for the pod before then (capped by the apiserver's maximum), else at
// the latest at that first use.
func issuedExp(issues []audit.TokenIssue, uid types.UID, at time.Time, life, maxTTL time.Duration) time.Time {
	var latest *audit.TokenIssue
	for i, is := range issues {
		if is.PodUID == string(uid) && !is.At.After(at) {
			latest = &issues[i]
		}
	}
	if latest == nil {
		return at.Truncate(time.Second).Add(life)
	}
	l := time.Duration(latest.ExpirationSeconds) * time.Second
	if maxTTL > 0 && l > maxTTL {
		l = maxTTL
	}
	return latest.At.Truncate(time.Second).Add(l)
}
