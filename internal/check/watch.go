package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// podRun is one pod of the workload, from the moment the pod watch first saw it.
type podRun struct {
	pod          corev1.Pod
	deleted      time.Time // when the pod watch saw it deleted; zero while it exists
	restarts     int32     // at the end of the wait, of every container
	unauthorized []string
	obs          verdict.Observation
	iat, exp     time.Time // of the first token (see anchorToken)
	estimated    bool      // iat/exp estimated, not from the kubelet's TokenRequest
	unattributed int       // 401s from its address that no one pod can be told to have sent
}

// ran reports whether the pod got as far as running (an IP and a start time).
func (p *podRun) ran() bool { return p.pod.Status.StartTime != nil && p.pod.Status.PodIP != "" }

// ended is when the pod stopped: deleted, or finished (every container terminated in a
// pod that does not restart them); zero while it runs.
func (p *podRun) ended() time.Time {
	if !p.deleted.IsZero() {
		return p.deleted
	}
	if ph := p.pod.Status.Phase; ph != corev1.PodSucceeded && ph != corev1.PodFailed {
		return time.Time{}
	}
	var end time.Time
	for _, cs := range p.pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.FinishedAt.After(end) {
			end = t.FinishedAt.Time
		}
	}
	if end.IsZero() {
		end = time.Now() // finished, time unknown: at the latest now
	}
	return end
}

// track brings j.pods up to date with every workload pod the pod watch has seen, and
// returns those it had not tracked before.
func (j *job) track(ctx context.Context, kc *kube.Client) []*podRun {
	if j.byUID == nil {
		j.byUID = map[types.UID]*podRun{}
	}
	var fresh []*podRun
	for _, s := range j.podLog.snapshot() {
		if ok, _ := j.work.member(ctx, kc, &s.Pod); !ok {
			continue
		}
		p := j.byUID[s.Pod.UID]
		if p == nil {
			p = &podRun{}
			j.byUID[s.Pod.UID] = p
			j.pods = append(j.pods, p)
			fresh = append(fresh, p)
		}
		p.pod, p.deleted = s.Pod, s.Deleted
	}
	return fresh
}

// waitPods waits until the workload has pods and every one that exists runs (or has
// finished, like a Job's). The workload's pods are found in every namespace (see
// workload); the others are not waited for.
func (j *job) waitPods(ctx context.Context, kc *kube.Client) error {
	pending := ""
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		j.track(ctx, kc)
		pending = ""
		alive := 0
		for _, p := range j.pods {
			if !p.deleted.IsZero() {
				continue
			}
			alive++
			if ph := p.pod.Status.Phase; ph != corev1.PodSucceeded && ph != corev1.PodFailed && (ph != corev1.PodRunning || p.pod.Status.PodIP == "") {
				pending = fmt.Sprintf("%s/%s: %s", p.pod.Namespace, p.pod.Name, kube.PodProblem(&p.pod))
			}
		}
		return alive > 0 && pending == "", nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case wait.Interrupted(err):
		if pending == "" {
			pending = "no pod of the workload was created (owned by the manifests' objects, or under their ServiceAccounts " + strings.Join(j.work.serviceAccounts, ", ") + ")"
		}
		return fmt.Errorf("workload not running after 3m: %s", pending)
	}
	return err
}

// checkTokenTTLs refuses to judge the workload's pods whose tokens would outlive the
// check, such as pods a controller created from a template the manifest rewrite could not
// see, or pods an operator created under a ServiceAccount of its own.
func checkTokenTTLs(pods []*podRun, ttl time.Duration) error {
	var bad []string
	for _, p := range pods {
		if ttls := TokenTTLs(p.pod.Spec); !allEqual(ttls, int64(ttl.Seconds())) {
			bad = append(bad, fmt.Sprintf("%s/%s %v", p.pod.Namespace, p.pod.Name, ttls))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("token TTL %s not applied to %s (their token expirationSeconds): their tokens would not expire during the check "+
			"(created by a controller from a template the manifest rewrite cannot reach, or under a ServiceAccount the manifests do not name: use a cluster that serves MutatingAdmissionPolicy, and name the ServiceAccount in the manifests)",
			ttl, strings.Join(bad, ", "))
	}
	return nil
}

// anchorToken sets the first token's iat/exp from the kubelet's first TokenRequest for
// the pod in the audit log (iat to the second, as in the JWT; the lifetime it asked for,
// capped by the apiserver's maximum), or — while that is not in the log — estimates them
// from the pod's start and the TTL.
func (p *podRun) anchorToken(issues []audit.TokenIssue, ttl, maxTTL time.Duration) {
	for _, is := range issues {
		if is.PodUID != string(p.pod.UID) {
			continue
		}
		life := time.Duration(is.ExpirationSeconds) * time.Second
		if maxTTL > 0 && life > maxTTL {
			life = maxTTL
		}
		p.iat = is.At.Truncate(time.Second).UTC()
		p.exp, p.estimated = p.iat.Add(life), false
		return
	}
	start := p.pod.CreationTimestamp.Time
	if p.pod.Status.StartTime != nil {
		start = p.pod.Status.StartTime.Time
	}
	p.iat = start.UTC()
	p.exp, p.estimated = p.iat.Add(ttl), true
}

// observe reads the pod's observation from the audit events (see observe); a nil attr
// knows only this pod.
func (p *podRun) observe(events []audit.Event, issues []audit.TokenIssue, attr *attribution, maxTTL time.Duration) verdict.Observation {
	if attr == nil {
		attr = newAttribution(events, []seenPod{{Pod: p.pod, Deleted: p.deleted}}, nil)
	}
	var o verdict.Observation
	o, p.unattributed = observe(events, issues, p.pod.UID, attr.owns(p.pod, p.deleted), p.iat, p.exp, maxTTL)
	return o
}

// params are the verdict settings for workloads, whose call cadence is their own.
func (in Input) params() verdict.Params {
	return verdict.Params{Interval: timingTolerance, Leeway: verdict.ValidatorLeeway, Late: in.WaitForCall, MinSettle: verdict.MinSettle, Outages: in.outages}
}

// until is when the pod has been watched long enough: --settle past the refusal of its
// start-up token, and past its first call after that refusal (waiting at most
// WaitForCall for one), and --settle past its first 401. A pod that ended needs nothing
// more; one that never ran has nothing to wait for.
func (p *podRun) until(o verdict.Observation, in Input) time.Time {
	if !p.ended().IsZero() || !p.ran() {
		return time.Time{}
	}
	refused := p.refused()
	done := p.exp.Add(verdict.ValidatorLeeway + in.Settle)
	if o.LastCallAt.Before(refused) {
		done = later(done, refused.Add(in.WaitForCall))
	}
	if at := o.FirstUnauthorizedAt; at != nil {
		done = later(done, at.Add(max(in.Settle, verdict.MinSettle)))
	}
	// One switch to a newer token is not yet a reload: watch until the token it switched
	// to has been refused too, or a second switch is seen.
	if more, ok := verdict.ReloadProofUntil(o, in.params()); ok {
		if o.LastCallAt.After(more.Add(-in.WaitForCall)) {
			more = more.Add(-in.WaitForCall) // called after that refusal: no need to wait for a call
		}
		done = later(done, more)
	}
	return done
}

// refused is when the start-up token stops working: exp + leeway + the auth cache.
func (p *podRun) refused() time.Time {
	return p.exp.Add(verdict.ValidatorLeeway + verdict.AuthCacheTTL)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// auditGrace is how long past the end of the watch (by the host's clock) an audit log
// that lags behind may take to show it.
const auditGrace = 5 * time.Minute

// maxWatch bounds the watch after the first pod ran, whatever keeps appearing: a
// workload that starts a new pod every few minutes would otherwise never be done. Pods
// not done by then are judged on what was seen (not judged where that is too little).
func (in Input) maxWatch() time.Duration {
	return 3*(in.TTL+verdict.ValidatorLeeway+verdict.AuthCacheTTL) + in.WaitForCall + in.Settle
}

// watch waits until every workload pod has been watched long enough (see until), taking
// in the pods that appear meanwhile (each must have a short token too). Time is the audit
// log's: its newest event is "now" (a log read late, or from a host whose clock differs,
// must not end the watch before the events are in); the host's clock only bounds the wait
// when the log stops growing.
func (j *job) watch(ctx context.Context, kc *kube.Client) error {
	var start time.Time
	for _, p := range j.pods {
		if p.ran() && (start.IsZero() || p.pod.Status.StartTime.Time.Before(start)) {
			start = p.pod.Status.StartTime.Time
		}
	}
	deadline := start.Add(j.in.maxWatch())
	in := waits.WatchInput{What: "the workload's token expiry", Every: time.Minute, Log: j.in.Log}
	return waits.Watch(ctx, in, func(ctx context.Context) (waits.Look, error) { return j.look(ctx, kc, deadline) })
}

// look takes in the new pods, reads the audit log again and says until when the pods
// must be watched, by the log's clock.
func (j *job) look(ctx context.Context, kc *kube.Client, deadline time.Time) (waits.Look, error) {
	in := j.in
	if err := checkTokenTTLs(j.track(ctx, kc), in.TTL); err != nil {
		return waits.Look{}, err
	}
	events, _ := in.events()
	issues := audit.TokenIssues(events)
	attr := newAttribution(events, j.podLog.snapshot(), j.canaries)
	now := time.Now()
	logNow, lag := audit.Newest(events), time.Duration(0)
	if !logNow.IsZero() && logNow.Before(now) {
		lag = now.Sub(logNow)
		now = logNow
	}
	var until time.Time
	var b strings.Builder
	for _, p := range j.pods {
		p.anchorToken(issues, in.TTL, in.Target.MaxTokenExpiration)
		o := p.observe(events, issues, attr, in.Target.MaxTokenExpiration)
		u := p.until(o, in)
		until = later(until, u)
		fmt.Fprintf(&b, "\n           %-40s %4d ok %4d 401  %s", p.pod.Namespace+"/"+p.pod.Name, o.OKCount, o.UnauthorizedCount, p.state(o, now, u, in))
	}
	l := waits.Look{Now: now, Until: until, Progress: fmt.Sprintf("waiting for the workload's tokens to expire, its next calls and %s more: %s left at most (until %s)%s",
		in.Settle, until.Sub(now).Round(time.Second), until.Local().Format("15:04:05"), b.String())}
	switch {
	case time.Now().After(deadline):
		l.End = fmt.Sprintf("the watch reached its bound (%s after the first pod started): judging what was seen", in.maxWatch())
	case time.Now().After(until.Add(auditGrace)):
		l.End = fmt.Sprintf("the audit log's newest event is %s old, %s past the end of the watch: judging what it shows", lag.Round(time.Second), auditGrace)
	}
	return l, nil
}

// state says, for the progress line, where the pod stands.
func (p *podRun) state(o verdict.Observation, now, until time.Time, in Input) string {
	refused := p.refused()
	switch {
	case !p.ran():
		return "not running: " + kube.PodProblem(&p.pod)
	case !p.ended().IsZero():
		return "ended"
	case now.Before(refused):
		return "waiting for its token to expire"
	case o.LastCallAt.Before(refused):
		return fmt.Sprintf("token refused since %s; waiting for its next API call (up to %s)", refused.Local().Format("15:04:05"), refused.Add(in.WaitForCall).Local().Format("15:04:05"))
	case !now.Before(until):
		return "done"
	}
	return "called after its token expired; settling"
}
