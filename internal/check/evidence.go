package check

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

const noCredentialID = "the audit events carry no credential-id (Kubernetes before 1.29?): token rotation not observable"

// lifetime is when the pod held its IP. A hostNetwork pod shares the node's IP with the
// kubelet and every other host process, so no 401 can be attributed to it by IP.
func lifetime(pod corev1.Pod) audit.Lifetime {
	if pod.Spec.HostNetwork {
		return audit.Lifetime{}
	}
	l := audit.Lifetime{IP: pod.Status.PodIP, Start: pod.CreationTimestamp.Time}
	if pod.Status.StartTime != nil {
		l.Start = pod.Status.StartTime.Time
	}
	if pod.DeletionTimestamp != nil {
		l.End = pod.DeletionTimestamp.Time
	}
	for _, cs := range pod.Status.ContainerStatuses {
		// A finished pod's IP is free for the next pod once its last container ended.
		if t := cs.State.Terminated; t != nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) {
			if l.End.IsZero() || t.FinishedAt.After(l.End) {
				l.End = t.FinishedAt.Time
			}
		}
	}
	return l
}

// observe rebuilds, from the apiserver's audit events alone, the record a probe would have
// written about itself: one call per request of the pod (authenticated requests by the
// pod UID bound into their token, 401s by the pod's source IP within its lifetime) and one
// token version per credential ID (the token's JTI). The first token's iat/exp are
// estimated from the pod's start and the TTL (the kubelet requests it just after).
func observe(events []audit.Event, uid types.UID, life audit.Lifetime, iat, exp time.Time) verdict.Observation {
	type call struct {
		at   time.Time
		code int
		cred string
	}
	seen := map[string]bool{}
	var calls []call
	for _, e := range events {
		if seen[e.AuditID] || e.Code() == 0 {
			continue // one line per request, whatever its stages
		}
		mine := e.PodUID() == string(uid) || (e.Code() == 401 && life.Holds(e))
		if !mine {
			continue
		}
		seen[e.AuditID] = true
		calls = append(calls, call{at: e.Received, code: e.Code(), cred: e.CredentialID()})
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].at.Before(calls[j].at) })

	// The start-up token anchors the expiry whether or not a call used it.
	lines := []probelog.Line{{Time: iat, Kind: probelog.KindToken, TokenHash: "start-up", Iat: iat.Unix(), Exp: exp.Unix()}}
	first := ""
	for _, c := range calls {
		// Every attributed answer but a 401 was authenticated as the pod (a 403 or 404 is
		// the workload's business, not its token's): for the verdict it is a success.
		l := probelog.Line{Time: c.at, Kind: probelog.KindCall, Outcome: probelog.OutcomeOK, Status: c.code}
		if c.code == 401 {
			l.Outcome = probelog.OutcomeUnauthorized // no credential ID: authentication failed
		} else {
			if c.cred == "" {
				l.AuthHashNote = noCredentialID
			} else {
				// The first credential the pod used is its start-up token; later ones are
				// rotations.
				id := tokeninfo.Hash(c.cred)
				if first == "" {
					first = id
				}
				l.AuthHash = "start-up"
				if id != first {
					l.AuthHash = id
					lines = append(lines, probelog.Line{Time: c.at, Kind: probelog.KindToken, TokenHash: id}) // Observe keeps the first of each
				}
			}
		}
		lines = append(lines, l)
	}
	return verdict.Observe(lines)
}
