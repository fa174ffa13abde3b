package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/stretchr/testify/require"
)

func runStale(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := newStaleCommand()
	c.SilenceUsage, c.SilenceErrors = true, true
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), err
}

func TestStaleCommand(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	require.NoError(t, os.WriteFile(log, []byte(
		`{"auditID":"a1","stage":"ResponseComplete","sourceIPs":["10.244.0.6"],"requestReceivedTimestamp":"2026-11-26T20:11:00Z","user":{"username":"system:serviceaccount:old:probe","extra":{"authentication.kubernetes.io/pod-name":["probe-1"]}},"annotations":{"authentication.k8s.io/stale-token":"subject: system:serviceaccount:old:probe, seconds after warning threshold: 12"}}
{"auditID":"a2","stage":"ResponseComplete","sourceIPs":["10.244.0.7"],"requestReceivedTimestamp":"2026-11-26T20:11:00Z","user":{"username":"system:serviceaccount:new:probe"}}
`), 0o644))

	out, err := runStale(t, log)
	var ee *exitError
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, exitGate, ee.code)
	require.Contains(t, out, "old        probe           probe-1")
	require.NotContains(t, out, "new")

	// One token version and no annotation: its token may not have been old enough yet.
	once := filepath.Join(dir, "once.log")
	require.NoError(t, os.WriteFile(once, []byte(`{"auditID":"c1","stage":"ResponseComplete","requestReceivedTimestamp":"2026-11-26T20:11:00Z","user":{"username":"system:serviceaccount:young:app","extra":{"authentication.kubernetes.io/pod-name":["app-1"],"authentication.kubernetes.io/pod-uid":["u9"],"authentication.kubernetes.io/credential-id":["JTI=x"]}}}
`), 0o644))
	out, err = runStale(t, once, "--extension", "on")
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, exitNotJudged, ee.code)
	require.Contains(t, out, "not judged")
	require.Contains(t, out, "app-1")
	_, err = runStale(t, once, "--extension", "maybe")
	require.ErrorContains(t, err, "--extension")

	// Nothing pod-bound at all: nothing was judged, so no pass.
	empty := filepath.Join(dir, "empty.log")
	require.NoError(t, os.WriteFile(empty, []byte(`{"auditID":"a2","stage":"ResponseComplete","user":{"username":"system:serviceaccount:new:probe"}}`+"\n"), 0o644))
	_, err = runStale(t, empty)
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, exitNotJudged, ee.code)

	_, err = runStale(t, filepath.Join(dir, "missing.log"))
	require.ErrorContains(t, err, "no such file")
}

// bound is an audit event of pod-bound client ns/sa pod (uid) using token jti from ip.
func bound(id, at, ns, pod, uid, jti, ip string) audit.Event {
	e := audit.Event{AuditID: id, Received: mustTime(at), SourceIPs: []string{ip}, ResponseStatus: &struct {
		Code int `json:"code"`
	}{200}}
	e.User.Username = "system:serviceaccount:" + ns + ":app"
	e.User.Extra = map[string][]string{"authentication.kubernetes.io/pod-name": {pod}, "authentication.kubernetes.io/pod-uid": {uid}, "authentication.kubernetes.io/credential-id": {"JTI=" + jti}}
	return e
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestStaleDecisions: what must not pass. A pod recreated under the same name is another
// client (keyed by UID); two token versions are a reload only in one process (no restart
// between, which only the cluster can tell); a 401 from a client's address may be its own;
// a log that cannot show stale use at all passes nothing.
func TestStaleDecisions(t *testing.T) {
	reload := []audit.Event{
		bound("1", "2026-11-26T20:00:00Z", "ns", "app", "u1", "a", "10.244.0.5"),
		bound("2", "2026-11-26T20:50:00Z", "ns", "app", "u1", "b", "10.244.0.5"),
	}
	none := map[string][]restart{"u1": {}}
	for _, tc := range []struct {
		name string
		in   staleInput
		want report.Outcome
		why  string
	}{
		{"two versions in one process, extension on", staleInput{Events: reload, Extension: "on", Restarts: none}, report.Passed, ""},
		{"TestStaleKeyedByPodUID: the same name, recreated", staleInput{Extension: "on", Restarts: map[string][]restart{"u1": {}, "u2": {}}, Events: []audit.Event{
			bound("1", "2026-11-26T20:00:00Z", "ns", "app", "u1", "a", "10.244.0.5"),
			bound("2", "2026-11-26T20:50:00Z", "ns", "app", "u2", "b", "10.244.0.6"),
		}}, report.NotJudged, "one token version"},
		{"no cluster: a restart cannot be ruled out", staleInput{Events: reload, Extension: "on"}, report.NotJudged, "give --kubeconfig"},
		{"a restart between the versions", staleInput{Events: reload, Extension: "on", Restarts: map[string][]restart{"u1": {{Container: "c", Count: 1, Started: mustTime("2026-11-26T20:30:00Z")}}}}, report.NotJudged, "restarted"},
		{"TestStaleLogsNewestFirst: a restart between the versions", staleInput{Events: []audit.Event{reload[1], reload[0]}, Extension: "on", Restarts: map[string][]restart{"u1": {{Container: "c", Count: 1, Started: mustTime("2026-11-26T20:30:00Z")}}}}, report.NotJudged, "restarted"},
		{"a restart after the last switch", staleInput{Events: reload, Extension: "on", Restarts: map[string][]restart{"u1": {{Container: "c", Count: 1, Started: mustTime("2026-11-26T21:30:00Z")}}}}, report.Passed, ""},
		{"a restart of unknown time", staleInput{Events: reload, Extension: "on", Restarts: map[string][]restart{"u1": {{Container: "c", Count: 1}}}}, report.NotJudged, "a time its status does not show"},
		{"the pod is gone", staleInput{Events: reload, Extension: "on", Restarts: map[string][]restart{}}, report.NotJudged, "no longer in the cluster"},
		{"a 401 from its address", staleInput{Extension: "on", Restarts: none, Events: append(slices.Clone(reload), audit.Event{AuditID: "x", Received: mustTime("2026-11-26T20:55:00Z"), SourceIPs: []string{"10.244.0.5"},
			ResponseStatus: &struct {
				Code int `json:"code"`
			}{401}})}, report.NotJudged, "401s came from its addresses"},
		{"a log that cannot show stale use", staleInput{Events: reload, Restarts: none}, report.NotJudged, "cannot show stale tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decideStale(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, d.Outcome, "%v", d.why())
			if tc.why != "" {
				require.Contains(t, strings.Join(d.why(), "; "), tc.why)
			}
			if tc.want == report.Passed {
				require.NoError(t, exitFor(d.Outcome, d.why()))
			}
		})
	}
}

// TestStaleRestartOfAWaitingContainer: a container waiting to restart (CrashLoopBackOff)
// has no running instance; its newest instance is the one that ended last, and that start
// is the restart to weigh — not "now", which would put it after every switch.
func TestStaleRestartOfAWaitingContainer(t *testing.T) {
	started := mustTime("2026-11-26T20:30:00Z")
	var p corev1.Pod
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "quiet"},
		{Name: "looping", RestartCount: 1, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{StartedAt: metav1.Time{Time: started}}}},
	}
	rs := restartsOf(p)
	require.Equal(t, []restart{{Container: "looping", Count: 1, Started: started}}, rs)
	d, err := decideStale(staleInput{Extension: "on", Restarts: map[string][]restart{"u1": rs}, Events: []audit.Event{
		bound("1", "2026-11-26T20:00:00Z", "ns", "app", "u1", "a", "10.244.0.5"),
		bound("2", "2026-11-26T20:50:00Z", "ns", "app", "u1", "b", "10.244.0.5"),
	}})
	require.NoError(t, err)
	require.Equal(t, report.NotJudged, d.Outcome, "%v", d.why())
}
