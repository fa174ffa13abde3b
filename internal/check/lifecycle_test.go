package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// writeAudit writes events as an audit log (JSON lines) and returns its path.
func writeAudit(t *testing.T, evs []audit.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := os.Create(path)
	require.NoError(t, err)
	enc := json.NewEncoder(f)
	for _, e := range evs {
		require.NoError(t, enc.Encode(e))
	}
	require.NoError(t, f.Close())
	return path
}

// shortPod is a workload pod whose token projection is ttl seconds long.
func shortPod(name string, uid string, t0 time.Time, ttl int64) corev1.Pod {
	p := podAt(t0)
	p.Name, p.UID = name, types.UID(uid)
	p.Spec.ServiceAccountName = "operator"
	p.CreationTimestamp = metav1.Time{Time: t0}
	p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To(ttl)}}}}}}}
	return p
}

// TestCheckOperatorCreatesPodsLater: the operator's pod is tracked first; the operand pod
// it creates minutes later (under the workload's ServiceAccount) joins the check, and an
// operand whose token would outlive the check stops it instead of passing unjudged.
func TestCheckOperatorCreatesPodsLater(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	kc := fakeCluster()
	j := &job{in: Input{TTL: 10 * time.Minute}, work: newWorkload([]string{"ns/operator"}), podLog: &podLog{pods: map[types.UID]*seenPod{}}}
	j.work.add(kube.Object{Resource: corev1.SchemeGroupVersion.WithResource("serviceaccounts"), Namespace: "ns", Name: "operator", UID: "sa", Created: t0})

	operator := shortPod("operator", "op", t0.Add(time.Second), 600)
	j.podLog.saw(&operator, false)
	require.Len(t, j.track(context.Background(), kc), 1)
	require.NoError(t, checkTokenTTLs(j.pods, j.in.TTL))

	operand := shortPod("operand", "od", t0.Add(5*time.Minute), 3607)
	j.podLog.saw(&operand, false)
	fresh := j.track(context.Background(), kc)
	require.Len(t, fresh, 1, "the pod created later is tracked")
	require.Equal(t, "operand", fresh[0].pod.Name)
	require.ErrorContains(t, checkTokenTTLs(fresh, j.in.TTL), "ns/operand [3607]")
	require.Len(t, j.pods, 2)
	require.Empty(t, j.track(context.Background(), kc), "nothing new")
}

// TestCheckPodsThatCannotBeJudged: a pod that never ran, one deleted before its token
// expired, and one that started before the audit log begins are not judged — the outcome
// is not a pass — while a Job's pod that finished before its token expired is noted.
func TestCheckPodsThatCannotBeJudged(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	reloading := events(t0, true) // uid-1 reloads through the whole watch
	path := writeAudit(t, append(canaryEvents(t0, "c1", "10.244.0.50", canaryRequests), reloading...))
	in := Input{Target: target.Target{AuditLog: path}, TTL: 10 * time.Minute, WaitForCall: DefaultWaitForCall, Settle: 3 * time.Minute, OutDir: t.TempDir()}

	good := &podRun{pod: podAt(t0)}
	pending := &podRun{pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending", UID: "uid-2"},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "c",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}}}}
	deleted := &podRun{pod: podAt(t0), deleted: t0.Add(5 * time.Minute)}
	deleted.pod.Name, deleted.pod.UID = "deleted", "uid-3"
	done := &podRun{pod: podAt(t0)}
	done.pod.Name, done.pod.UID, done.pod.Status.Phase = "job", "uid-4", corev1.PodSucceeded
	done.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.Time{Time: t0.Add(time.Minute)}}}}}

	j := &job{in: in, pods: []*podRun{good, pending, deleted, done}, canaries: []*report.Canary{{Namespace: "ns", ID: "c1", IP: "10.244.0.50", Sent: canaryRequests}}}
	rep := &report.Report{Command: "check"}
	require.NoError(t, j.collect(context.Background(), fakeCluster(), rep))
	require.Len(t, rep.Results, 3)
	require.Equal(t, verdict.Reloads, rep.Results[0].Verdict, rep.Results[0].Reason)
	require.Equal(t, verdict.NotJudged, rep.Results[1].Verdict)
	require.Contains(t, rep.Results[1].Reason, "never ran")
	require.Contains(t, rep.Results[1].Reason, "ImagePullBackOff")
	require.Equal(t, verdict.NotJudged, rep.Results[2].Verdict)
	require.Contains(t, rep.Results[2].Reason, "ended (deleted) at exp-5m0s")
	require.Len(t, rep.Notes, 1)
	require.Contains(t, rep.Notes[0], "ns/job finished (Succeeded)")
	require.Equal(t, report.NotJudged, rep.Decide())

	// The same reloading pod, with an audit log that begins after it started.
	late := writeAudit(t, reloading[20:len(reloading)-1]) // the last event is another pod's, at t0
	in.Target.AuditLog = late
	j = &job{in: in, pods: []*podRun{{pod: podAt(t0)}}, canaries: []*report.Canary{{Namespace: "ns", ID: "c1", IP: "10.244.0.50", Sent: canaryRequests}}}
	rep = &report.Report{Command: "check"}
	require.NoError(t, j.collect(context.Background(), fakeCluster(), rep))
	require.Equal(t, verdict.NotJudged, rep.Results[0].Verdict)
	require.Contains(t, rep.Results[0].Reason, "the audit log begins at")
}

// TestCheckEveryContainerCounts: restarts of init containers and native sidecars (init
// containers with restartPolicy Always) make a pod broken like a container's.
func TestCheckEveryContainerCounts(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := &podRun{pod: podAt(t0)}
	p.pod.Spec.InitContainers = []corev1.Container{{Name: "sidecar", Image: "proxy:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	p.pod.Spec.Containers = []corev1.Container{{Name: "main", Image: "addon:1"}}
	p.pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "sidecar", RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	p.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	require.Empty(t, p.readLogs(context.Background(), fakeCluster(), t.TempDir()))
	require.Equal(t, int32(2), p.restarts, "the sidecar's restarts count")
	require.Equal(t, "proxy:1,addon:1", images(p.pod))
	res := judge(p, "Pod/p", Input{Target: target.Target{AuditLog: "x"}, WaitForCall: DefaultWaitForCall}, time.Time{})
	require.True(t, res.Broken())
}

// TestCheckDeletedPodRestartsCount: a pod that restarted and was then deleted (an
// operator replacing its crash-looping operand) has no logs left to read, but its restarts
// as the pod watch last saw them still make it broken.
func TestCheckDeletedPodRestartsCount(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	gone := podAt(t0)
	gone.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	j := &job{in: Input{Target: target.Target{AuditLog: writeAudit(t, events(t0, true))}, TTL: 10 * time.Minute, WaitForCall: DefaultWaitForCall, OutDir: t.TempDir()},
		pods: []*podRun{{pod: gone, deleted: t0.Add(19 * time.Minute)}}}
	rep := &report.Report{Command: "check"}
	require.NoError(t, j.collect(context.Background(), fakeCluster(), rep))
	require.Equal(t, 3, rep.Results[0].Restarts)
	require.True(t, rep.Results[0].Broken(), rep.Results[0].Reason)
}

// TestCheckReloadIsOfTheStartUpProcess: an init container calls with the start-up token,
// then the main container starts after the kubelet's first rotation and reads the new
// token once. One switch is not a reload: the check watches until the token it switched to
// (tied to the kubelet's TokenRequest that issued it) is refused too, and then sees the
// failure.
func TestCheckReloadIsOfTheStartUpProcess(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	pod := podAt(t0)
	issues := []audit.TokenIssue{{PodUID: "uid-1", At: t0, ExpirationSeconds: 600}, {PodUID: "uid-1", At: t0.Add(480 * time.Second), ExpirationSeconds: 600}}
	var evs []audit.Event
	for i, at := 0, 10*time.Second; at <= 1400*time.Second; i, at = i+1, at+10*time.Second {
		e := audit.Event{AuditID: fmt.Sprint(i), Received: t0.Add(at), SourceIPs: []string{"10.244.0.9"}, ResponseStatus: &struct {
			Code int `json:"code"`
		}{200}}
		jti := "JTI=a" // the init container, with the start-up token
		if at >= 500*time.Second {
			jti = "JTI=b" // the main container read the rotated token once
		}
		if at >= 1140*time.Second { // R1's exp + leeway
			e.ResponseStatus.Code = 401
		} else {
			e.User.Extra = map[string][]string{"authentication.kubernetes.io/pod-uid": {"uid-1"}, "authentication.kubernetes.io/credential-id": {jti}}
		}
		evs = append(evs, e)
	}
	upTo := func(d time.Duration) []audit.Event {
		var out []audit.Event
		for _, e := range evs {
			if !e.Received.After(t0.Add(d)) {
				out = append(out, e)
			}
		}
		return out
	}
	p := &podRun{pod: pod}
	p.anchorToken(issues, 10*time.Minute, time.Hour)
	in := Input{TTL: 10 * time.Minute, WaitForCall: DefaultWaitForCall, Settle: 3 * time.Minute}

	o := p.observe(upTo(900*time.Second), issues, nil, time.Hour)
	require.Equal(t, t0.Add(1080*time.Second), o.Credentials[1].Exp, "the second token's exp, from the TokenRequest before its first use")
	r := verdict.Judge(o, in.params())
	require.Equal(t, verdict.NotJudged, r.Verdict, "one switch, before that token expired: %s", r.Reason)
	require.False(t, p.until(o, in).Before(t0.Add(1150*time.Second)), "the watch goes on past the second token's refusal")

	o = p.observe(evs, issues, nil, time.Hour)
	r = verdict.Judge(o, in.params())
	require.Equal(t, verdict.FailsAfterExpiry, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "the token it used from exp-1m40s on")
}

// TestCheckHostNetworkAttributionByUserAgent: two hostNetwork agents share their node's
// IP; a 401 is one agent's only by the user agent its own authenticated calls used, and
// only while no other hostNetwork pod there used it too. A 401 that cannot be attributed
// keeps a quiet agent from passing on "no 401 seen".
func TestCheckHostNetworkAttributionByUserAgent(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	agent := func(name, uid string) corev1.Pod {
		p := podAt(t0)
		p.Name, p.UID, p.Spec.HostNetwork = name, types.UID(uid), true
		p.Status.PodIP, p.Status.HostIP = "172.18.0.2", "172.18.0.2"
		return p
	}
	a, b := agent("a", "uid-a"), agent("b", "uid-b")
	ev := func(id string, at time.Duration, code int, uid, ua string) audit.Event {
		e := audit.Event{AuditID: id, Received: t0.Add(at), SourceIPs: []string{"172.18.0.2"}, UserAgent: ua,
			ResponseStatus: &struct {
				Code int `json:"code"`
			}{code}}
		if uid != "" {
			e.User.Extra = map[string][]string{"authentication.kubernetes.io/pod-uid": {uid}, "authentication.kubernetes.io/credential-id": {"JTI=" + uid}}
		}
		return e
	}
	evs := []audit.Event{
		ev("1", time.Minute, 200, "uid-a", "agent-a/1"),
		ev("2", time.Minute, 200, "uid-b", "agent-b/1"),
		ev("3", 12*time.Minute, 401, "", "agent-a/1"),
		ev("4", 12*time.Minute, 401, "", "agent-b/1"),
		ev("5", 12*time.Minute, 401, "", "curl/8"), // some host process
	}
	attr := newAttribution(evs, []seenPod{{Pod: a}, {Pod: b}}, nil)
	owns := attr.owns(a, time.Time{})
	for id, want := range map[string][2]bool{"3": {true, false}, "4": {false, false}, "5": {false, true}} {
		for _, e := range evs {
			if e.AuditID == id {
				mine, lost := owns(e)
				require.Equal(t, want, [2]bool{mine, lost}, "event %s", id)
			}
		}
	}

	// b used a's user agent too: a's 401s can no longer be told apart.
	shared := append(evs, ev("6", 2*time.Minute, 200, "uid-b", "agent-a/1"))
	attr = newAttribution(shared, []seenPod{{Pod: a}, {Pod: b}}, nil)
	mine, lost := attr.owns(a, time.Time{})(evs[2])
	require.False(t, mine)
	require.True(t, lost)

	// A reloading agent with one unattributable 401 beside it is not judged.
	p := &podRun{pod: podAt(t0)}
	p.pod.Spec.HostNetwork = true
	p.anchorToken(nil, 10*time.Minute, time.Hour)
	reloading := events(t0, true)
	for i := range reloading {
		reloading[i].UserAgent = "agent/1"
	}
	reloading = append(reloading, audit.Event{AuditID: "stray", Received: t0.Add(700 * time.Second), SourceIPs: []string{"10.244.0.9"}, UserAgent: "curl/8",
		ResponseStatus: &struct {
			Code int `json:"code"`
		}{401}})
	p.obs = p.observe(reloading, nil, nil, time.Hour)
	require.Equal(t, 1, p.unattributed)
	res := judge(p, "DaemonSet/agent", Input{Target: target.Target{AuditLog: "x"}, WaitForCall: DefaultWaitForCall}, time.Time{})
	require.Equal(t, verdict.NotJudged, res.Verdict, res.Reason)
	require.Contains(t, res.Reason, "cannot be claimed")
	require.Equal(t, 1, res.Workload.Unattributed401)
}

// canaryEvents are the audit events of a canary's requests: n 401s from ip.
func canaryEvents(t0 time.Time, id, ip string, n int) []audit.Event {
	var out []audit.Event
	for i := 0; i < n; i++ {
		out = append(out, audit.Event{AuditID: fmt.Sprintf("canary-%s-%d", id, i), Received: t0.Add(2*time.Minute + time.Duration(i)*time.Second),
			SourceIPs: []string{ip}, UserAgent: canaryUserAgent + id, ResponseStatus: &struct {
				Code int `json:"code"`
			}{401}})
	}
	return out
}

// TestCheckCanaryProvesAttribution: a reloading pod passes only where its position's
// canary was seen whole in the audit log, from its own address. A canary whose 401s come
// from another address (SNAT, a proxy), or only partly (another apiserver's log missing),
// or not at all, or that could not run, proves nothing: the pod is not judged.
func TestCheckCanaryProvesAttribution(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		canary  []audit.Event
		ran     bool
		verdict verdict.Verdict
		problem string
	}{
		{"every request seen from its address", canaryEvents(t0, "c1", "10.244.0.50", canaryRequests), true, verdict.Reloads, ""},
		{"seen from the node's address: SNAT", canaryEvents(t0, "c1", "172.18.0.2", canaryRequests), true, verdict.NotJudged, "0 of its 5 requests"},
		{"some missing: another apiserver", canaryEvents(t0, "c1", "10.244.0.50", 2), true, verdict.NotJudged, "2 of its 5 requests"},
		{"none in the log", nil, true, verdict.NotJudged, "none of its 5 requests"},
		{"no canary could run", nil, false, verdict.NotJudged, "no canary could run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeAudit(t, append(tc.canary, events(t0, true)...))
			in := Input{Target: target.Target{AuditLog: path}, TTL: 10 * time.Minute, WaitForCall: DefaultWaitForCall, OutDir: t.TempDir()}
			j := &job{in: in, pods: []*podRun{{pod: podAt(t0)}}}
			if tc.ran {
				j.in.Canary = "satoken/canary:x"
				j.canaries = []*report.Canary{{Namespace: "ns", ID: "c1", IP: "10.244.0.50", Sent: canaryRequests}}
			}
			rep := &report.Report{Command: "check"}
			require.NoError(t, j.collect(context.Background(), fakeCluster(), rep))
			res := rep.Results[0]
			require.Equal(t, tc.verdict, res.Verdict, res.Reason)
			require.Contains(t, res.Reason, tc.problem)
			if tc.ran {
				require.Len(t, rep.Canaries, 1)
				require.Equal(t, tc.problem == "", rep.Canaries[0].Problem == "", rep.Canaries[0].Problem)
			}
		})
	}
}

// TestCheckHostNetworkCanaryIsNotAStray401: the canary of a hostNetwork position sends its
// 401s from the node's address on purpose; they are the canary's, not 401s beside the
// agent that nobody can claim, so a reloading agent passes. A 401 under a canary-like user
// agent of a canary this check did not run is still nobody's.
func TestCheckHostNetworkCanaryIsNotAStray401(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	const node = "172.18.0.2"
	for _, tc := range []struct {
		name    string
		stray   []audit.Event
		verdict verdict.Verdict
	}{
		{"only the canary's 401s", nil, verdict.Reloads},
		{"a 401 posing as another canary", canaryEvents(t0.Add(5*time.Minute), "zz", node, 1), verdict.NotJudged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := podAt(t0)
			agent.Spec.HostNetwork, agent.Spec.NodeName = true, "worker"
			agent.Status.PodIP, agent.Status.HostIP = node, node
			var calls []audit.Event
			for _, e := range events(t0, true) {
				if e.Code() != 401 { // the helper's stray 401 from another pod's address
					e.SourceIPs, e.UserAgent = []string{node}, "agent/1"
					calls = append(calls, e)
				}
			}
			path := writeAudit(t, append(append(canaryEvents(t0, "c1", node, canaryRequests), tc.stray...), calls...))
			j := &job{in: Input{Target: target.Target{AuditLog: path}, TTL: 10 * time.Minute, WaitForCall: DefaultWaitForCall, OutDir: t.TempDir(), Canary: "satoken/canary:x"},
				pods:     []*podRun{{pod: agent}},
				canaries: []*report.Canary{{Namespace: "ns", HostNetwork: true, Node: "worker", ID: "c1", IP: node, Sent: canaryRequests}}}
			rep := &report.Report{Command: "check"}
			require.NoError(t, j.collect(context.Background(), fakeCluster(), rep))
			require.Empty(t, rep.Canaries[0].Problem, "the canary was seen whole from the node's address")
			res := rep.Results[0]
			require.Equal(t, tc.verdict, res.Verdict, res.Reason)
			require.Equal(t, len(tc.stray), res.Workload.Unattributed401)
		})
	}
}
