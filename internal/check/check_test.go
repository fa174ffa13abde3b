package check

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func fixture(t *testing.T, name string) []*unstructured.Unstructured {
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "check", name))
	require.NoError(t, err)
	objs, err := kube.Decode(data)
	require.NoError(t, err)
	return objs
}

func TestShortenTokensReplacesAutomount(t *testing.T) {
	objs := fixture(t, "bad-addon.yaml")
	changes, err := ShortenTokens(objs, 600)
	require.NoError(t, err)
	require.Equal(t, []string{"Deployment/addon: automounted token replaced by a 600s projection in 1 container(s)"}, changes)

	dep := objs[len(objs)-1]
	auto, _, _ := unstructured.NestedBool(dep.Object, "spec", "template", "spec", "automountServiceAccountToken")
	require.False(t, auto)
	vols, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
	require.Len(t, vols, 1)
	sources, _, _ := unstructured.NestedSlice(vols[0].(map[string]any), "projected", "sources")
	ttl, _, _ := unstructured.NestedInt64(sources[0].(map[string]any), "serviceAccountToken", "expirationSeconds")
	require.Equal(t, int64(600), ttl)
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	mounts, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
	require.Equal(t, tokenMountPath, mounts[0].(map[string]any)["mountPath"])
	require.Equal(t, []string{"satoken/probe:v8.0.0"}, Images(objs))
}

func TestShortenTokensExplicitProjectionAndOptOut(t *testing.T) {
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "c", "image": "x"}},
			"volumes": []any{map[string]any{"name": "tok", "projected": map[string]any{"sources": []any{
				map[string]any{"serviceAccountToken": map[string]any{"path": "token", "expirationSeconds": int64(7200), "audience": "vault"}},
			}}}},
		},
	}}
	optOut := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "j"},
		"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"automountServiceAccountToken": false, "containers": []any{map[string]any{"name": "c", "image": "y"}},
		}}}}},
	}}
	changes, err := ShortenTokens([]*unstructured.Unstructured{pod, optOut}, 900)
	require.NoError(t, err)
	require.Equal(t, "Pod/p: 1 projected token(s) set to 900s", changes[0])
	require.Contains(t, changes[1], "unchanged")
	vols, _, _ := unstructured.NestedSlice(pod.Object, "spec", "volumes")
	sources, _, _ := unstructured.NestedSlice(vols[0].(map[string]any), "projected", "sources")
	sat := sources[0].(map[string]any)["serviceAccountToken"].(map[string]any)
	require.Equal(t, int64(900), sat["expirationSeconds"])
	require.Equal(t, "vault", sat["audience"], "other fields are kept")
	require.Equal(t, []string{"x", "y"}, Images([]*unstructured.Unstructured{pod, optOut}))
}

// events synthesizes audit events of one pod: calls every 10 s for 20 min, a 600 s token
// from t0, rotated every 480 s when reload is true (the calls follow: a second switch at
// 960 s); without reload, 401 (by IP) after exp+60s.
func events(t0 time.Time, reload bool) []audit.Event {
	var out []audit.Event
	for i, at := 0, time.Duration(0); at < 20*time.Minute; i, at = i+1, at+10*time.Second {
		e := audit.Event{AuditID: fmt.Sprint(i), Received: t0.Add(at), SourceIPs: []string{"10.244.0.9"}}
		code := 200
		jti := "JTI=first"
		if reload && at >= 480*time.Second {
			jti = "JTI=second"
		}
		if reload && at >= 960*time.Second {
			jti = "JTI=third"
		}
		if !reload && at >= 660*time.Second {
			code = 401
		}
		e.ResponseStatus = &struct {
			Code int `json:"code"`
		}{code}
		if code != 401 {
			e.User.Extra = map[string][]string{"authentication.kubernetes.io/pod-uid": {"uid-1"}, "authentication.kubernetes.io/credential-id": {jti}}
		}
		out = append(out, e)
		// A second stage of the same request must not count twice.
		out = append(out, e)
	}
	// Another pod's traffic is not ours.
	other := audit.Event{AuditID: "x", Received: t0, SourceIPs: []string{"10.244.0.7"}, ResponseStatus: &struct {
		Code int `json:"code"`
	}{401}}
	return append(out, other)
}

var checkParams = Input{WaitForCall: DefaultWaitForCall}.params()

func podAt(t0 time.Time) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "uid-1", Namespace: "ns", Name: "p"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.9", StartTime: &metav1.Time{Time: t0}}}
}

func judgeEvents(t *testing.T, evs []audit.Event, pod corev1.Pod, t0 time.Time) (verdict.Observation, verdict.Result) {
	t.Helper()
	p := &podRun{pod: pod, iat: t0, exp: t0.Add(600 * time.Second)}
	o := p.observe(evs, nil, nil, time.Hour)
	return o, verdict.Judge(o, checkParams)
}

func TestObserveFromAudit(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	pod := podAt(t0)

	o, r := judgeEvents(t, events(t0, true), pod, t0)
	require.Equal(t, 120, o.Calls, "each request once")
	require.Equal(t, 2, o.RotationsSeen)
	require.Equal(t, verdict.Reloads, r.Verdict, r.Reason)

	o, r = judgeEvents(t, events(t0, false), pod, t0)
	require.Equal(t, 54, o.UnauthorizedCount)
	require.Equal(t, verdict.FailsAfterExpiry, r.Verdict, r.Reason)

	// 401s, then success with a new token (e.g. after a container restart, which the audit
	// log cannot see): INTERMITTENT, and the reason claims nothing about processes.
	var evs []audit.Event
	for _, e := range events(t0, false) {
		if e.Received.After(t0.Add(700*time.Second)) && e.Code() == 401 {
			e.ResponseStatus.Code = 200
			e.User.Extra = map[string][]string{"authentication.kubernetes.io/pod-uid": {"uid-1"}, "authentication.kubernetes.io/credential-id": {"JTI=second"}}
		}
		evs = append(evs, e)
	}
	_, r = judgeEvents(t, evs, pod, t0)
	require.Equal(t, verdict.Intermittent, r.Verdict, r.Reason)
	require.NotContains(t, r.Reason, "process")
}

// TestNothingToJudgeIsNotAPass: an empty audit log, and a workload whose only calls came
// before its token expired (a watch-only informer between re-watches), are not judged.
func TestNothingToJudgeIsNotAPass(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	pod := podAt(t0)
	_, r := judgeEvents(t, nil, pod, t0)
	require.Equal(t, verdict.NotJudged, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "no API call")

	var early []audit.Event
	for _, e := range events(t0, false) {
		if e.Received.Before(t0.Add(300 * time.Second)) {
			early = append(early, e)
		}
	}
	_, r = judgeEvents(t, early, pod, t0)
	require.Equal(t, verdict.NotJudged, r.Verdict, r.Reason)
	require.Contains(t, r.Reason, "no API call after the first token stopped being accepted at exp+1m10s; the last call, at exp-5m10s, carried the start-up token")
	require.NotEmpty(t, r.Hint)

	rep := &report.Report{Command: "check", Results: []report.Result{{Namespace: "ns", Pod: "p", Workload: &report.WorkloadResult{Owner: "Pod/p"}}}}
	rep.Results[0].FromObservation(verdict.Observation{}, r)
	require.Equal(t, report.NotJudged, rep.Decide())
	require.Len(t, Unjudged(rep), 1)
	require.Empty(t, Broken(rep))
}

// TestAttributionStaysInsideTheLifetime: 401s from the pod's IP before it started or
// after it ended belong to other pods; a hostNetwork pod gets none by IP.
func TestAttributionStaysInsideTheLifetime(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	pod := podAt(t0)
	evs := events(t0, true) // the pod itself reloads
	// A later pod with the same IP, after this one ended at t0+15m, gets 401s.
	end := metav1.NewTime(t0.Add(15 * time.Minute))
	pod.DeletionTimestamp = &end
	for i := 0; i < 20; i++ {
		e := audit.Event{AuditID: fmt.Sprint("later-", i), Received: t0.Add(16*time.Minute + time.Duration(i)*time.Second), SourceIPs: []string{"10.244.0.9"},
			ResponseStatus: &struct {
				Code int `json:"code"`
			}{401}}
		evs = append(evs, e)
	}
	o, r := judgeEvents(t, evs, pod, t0)
	require.Zero(t, o.UnauthorizedCount, "another pod's 401s")
	require.Equal(t, verdict.Reloads, r.Verdict, r.Reason)

	// hostNetwork: the node's IP is everyone's.
	host := podAt(t0)
	host.Spec.HostNetwork = true
	o, r = judgeEvents(t, events(t0, false), host, t0)
	require.Zero(t, o.UnauthorizedCount)
	require.Equal(t, verdict.NotJudged, r.Verdict, "its calls stop at expiry and its 401s are invisible: %s", r.Reason)
}

// TestAnchorToken: the first token's iat/exp come from the kubelet's TokenRequest when the
// audit log has it, capped by the apiserver's maximum; else they are estimated.
func TestAnchorToken(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	p := &podRun{pod: podAt(t0)}
	p.anchorToken(nil, 10*time.Minute, time.Hour)
	require.True(t, p.estimated)
	require.Equal(t, t0.Add(10*time.Minute), p.exp)

	issues := []audit.TokenIssue{{PodUID: "other", At: t0, ExpirationSeconds: 600}, {PodUID: "uid-1", At: t0.Add(2700 * time.Millisecond), ExpirationSeconds: 600}}
	p.anchorToken(issues, 10*time.Minute, time.Hour)
	require.False(t, p.estimated)
	require.Equal(t, t0.Add(2*time.Second), p.iat, "iat to the second, as in the JWT")
	require.Equal(t, t0.Add(602*time.Second), p.exp)

	issues[1].ExpirationSeconds = 3607
	p.anchorToken(issues, 10*time.Minute, time.Hour)
	require.Equal(t, t0.Add(2*time.Second+time.Hour), p.exp, "the apiserver caps the kubelet's 3607 s")
}

// TestNoAuditLogIsNotAPass: on a cluster whose audit log was not given, a quiet pod is
// not judged (its calls are invisible), and one that restarted or logged Unauthorized is
// still broken.
func TestNoAuditLogIsNotAPass(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	quiet := &podRun{pod: podAt(t0), iat: t0, exp: t0.Add(10 * time.Minute)}
	quiet.obs = quiet.observe(nil, nil, nil, time.Hour)
	noAudit := Input{WaitForCall: DefaultWaitForCall}
	p := judge(quiet, "Deployment/addon", noAudit, time.Time{})
	require.Equal(t, verdict.NotJudged, p.Verdict)
	require.Contains(t, p.Hint, "--audit-log")
	require.Contains(t, p.Evidence, report.EvidenceNoAuditOn)
	rep := &report.Report{Command: "check", Results: []report.Result{p}}
	require.Equal(t, report.NotJudged, rep.Decide())

	restarted := &podRun{pod: podAt(t0), iat: t0, exp: t0.Add(10 * time.Minute), restarts: 2, unauthorized: []string{"401 Unauthorized"}}
	restarted.obs = restarted.observe(nil, nil, nil, time.Hour)
	p = judge(restarted, "Deployment/addon", noAudit, time.Time{})
	require.Equal(t, &report.WorkloadResult{Owner: "Deployment/addon", LogUnauthorizedLines: 1}, p.Workload)
	rep = &report.Report{Command: "check", Results: []report.Result{p}}
	require.Equal(t, report.Broken, rep.Decide())
	require.Len(t, Broken(rep), 1)
}
