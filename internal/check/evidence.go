package check

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

const noCredentialID = "the audit events carry no credential-id (Kubernetes before 1.29?): token rotation not observable"

// observe rebuilds, from the apiserver's audit events alone, the record a probe would have
// written about itself: one call per request of the pod (authenticated requests by the
// pod UID bound into their token, 401s by the pod's source IP) and one token version per
// credential ID (the token's JTI). The first token's iat/exp are estimated from the pod's
// start and the TTL.
func observe(events []audit.Event, pod corev1.Pod, iat, exp time.Time) verdict.Observation {
	type call struct {
		at   time.Time
		code int
		cred string
	}
	seen := map[string]bool{}
	var calls []call
	for _, e := range events {
		if seen[e.AuditID] {
			continue // one line per request, whatever its stages
		}
		mine := e.PodUID() == string(pod.UID) || (e.Code() == 401 && pod.Status.PodIP != "" && e.SourceIP() == pod.Status.PodIP)
		if !mine || e.Code() == 0 {
			continue
		}
		seen[e.AuditID] = true
		calls = append(calls, call{at: e.Received, code: e.Code(), cred: e.CredentialID()})
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].at.Before(calls[j].at) })

	var lines []probelog.Line
	creds := map[string]bool{}
	for _, c := range calls {
		l := probelog.Line{Time: c.at, Kind: probelog.KindCall, Outcome: probelog.OutcomeOK, Status: c.code}
		switch {
		case c.code == 401:
			l.Outcome = probelog.OutcomeUnauthorized
		case c.cred == "":
			l.AuthHashNote = noCredentialID
		default:
			id := tokeninfo.Hash(c.cred)
			if !creds[id] {
				t := probelog.Line{Time: c.at, Kind: probelog.KindToken, TokenHash: id}
				if len(creds) == 0 {
					t.Iat, t.Exp = iat.Unix(), exp.Unix()
				}
				creds[id] = true
				lines = append(lines, t)
			}
			l.AuthHash = id
		}
		lines = append(lines, l)
	}
	if len(creds) == 0 && len(lines) > 0 {
		// No credential ID at all: still anchor the expiry so 401s can be placed.
		lines = append([]probelog.Line{{Time: lines[0].Time, Kind: probelog.KindToken, TokenHash: "unknown", Iat: iat.Unix(), Exp: exp.Unix()}}, lines...)
	}
	return verdict.Observe(lines)
}
