package check

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
)

// attribution tells which pod a 401 came from. A request refused at authentication
// carries no user, so the audit log names only its source IP and user agent. A pod on the
// pod network owns its IP for its lifetime: the IP decides. A hostNetwork pod shares the
// node's IP with every other host process: a 401 from there is the pod's only when the
// user agent is one its own authenticated calls used and no other hostNetwork pod on that
// node, alive then, used it too; otherwise it cannot be attributed, and the pod's verdict
// must not rest on "no 401 seen". The canaries' own 401s (sent from the same node on
// purpose, under user agents of their own) are theirs, never a stray 401 beside the pod.
type attribution struct {
	agents   map[types.UID]map[string]bool // user agents of each pod's authenticated calls
	hosts    []hostPod                     // the cluster's hostNetwork pods, as the pod watch saw them
	canaries map[string]bool               // user agents of the canaries this check ran
}

type hostPod struct {
	uid  types.UID
	life audit.Lifetime
}

func newAttribution(events []audit.Event, pods []seenPod, canaries []*report.Canary) *attribution {
	a := &attribution{agents: map[types.UID]map[string]bool{}, canaries: map[string]bool{}}
	for _, c := range canaries {
		a.canaries[canaryUserAgent+c.ID] = true
	}
	for _, e := range events {
		if uid := types.UID(e.PodUID()); uid != "" && e.Code() != 401 && e.UserAgent != "" {
			if a.agents[uid] == nil {
				a.agents[uid] = map[string]bool{}
			}
			a.agents[uid][e.UserAgent] = true
		}
	}
	for _, s := range pods {
		if s.Pod.Spec.HostNetwork {
			a.hosts = append(a.hosts, hostPod{uid: s.Pod.UID, life: lifetime(s.Pod, s.Deleted)})
		}
	}
	return a
}

// owns is the attribution of 401s for pod (deleted when the pod watch saw it go).
func (a *attribution) owns(pod corev1.Pod, deleted time.Time) func(audit.Event) (mine, unattributed bool) {
	life := lifetime(pod, deleted)
	if !pod.Spec.HostNetwork {
		return func(e audit.Event) (bool, bool) { return life.Holds(e), false }
	}
	return func(e audit.Event) (bool, bool) {
		if !life.Holds(e) || a.canaries[e.UserAgent] {
			return false, false // not from its node while it ran, or a canary's
		}
		users, self := 0, a.agents[pod.UID][e.UserAgent]
		for _, h := range a.hosts {
			if h.uid != pod.UID && h.life.Holds(e) && a.agents[h.uid][e.UserAgent] {
				users++
			}
		}
		switch {
		case self && users == 0:
			return true, false
		case !self && users > 0:
			return false, false // another pod's
		}
		return false, true // shared, or a user agent no pod's calls used
	}
}

// lifetime is when the pod held its IP (a hostNetwork pod's is its node's): from its start
// to its deletion or end (zero End: still running).
func lifetime(pod corev1.Pod, deleted time.Time) audit.Lifetime {
	l := audit.Lifetime{IP: pod.Status.PodIP, Start: pod.CreationTimestamp.Time, End: deleted}
	if pod.Status.StartTime != nil {
		l.Start = pod.Status.StartTime.Time
	}
	if pod.DeletionTimestamp != nil && (l.End.IsZero() || pod.DeletionTimestamp.Time.Before(l.End)) {
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
