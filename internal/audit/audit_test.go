package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sample = `{"auditID":"a1","stage":"ResponseStarted","verb":"list","sourceIPs":["10.244.0.5"],"requestReceivedTimestamp":"2026-11-26T20:10:00.000000Z","user":{},"responseStatus":{"code":401}}
{"auditID":"a1","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.5"],"requestReceivedTimestamp":"2026-11-26T20:10:00.000000Z","user":{},"responseStatus":{"code":401}}
{"auditID":"a2","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.6"],"requestReceivedTimestamp":"2026-11-26T20:11:00.000000Z","user":{"username":"system:serviceaccount:ns1:probe","extra":{"authentication.kubernetes.io/pod-name":["probe"],"authentication.kubernetes.io/pod-uid":["u1"],"authentication.kubernetes.io/credential-id":["JTI=j1"]}},"responseStatus":{"code":200},"annotations":{"authentication.k8s.io/stale-token":"subject: system:serviceaccount:ns1:probe, seconds after warning threshold: 12"}}
{"auditID":"a3","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.6"],"requestReceivedTimestamp":"2026-11-26T20:12:00.000000Z","user":{"username":"system:serviceaccount:ns1:probe","extra":{"authentication.kubernetes.io/pod-name":["probe"]}},"responseStatus":{"code":200},"annotations":{"authentication.k8s.io/stale-token":"subject: system:serviceaccount:ns1:probe, seconds after warning threshold: 72"}}
{"auditID":"a4","stage":"ResponseComplete","verb":"get","sourceIPs":["10.244.0.7"],"user":{"username":"system:serviceaccount:ns2:fresh"},"responseStatus":{"code":200}}
{"partial line
`

func TestReadAndAttribute(t *testing.T) {
	events, err := Read(strings.NewReader(sample))
	require.NoError(t, err)
	require.Len(t, events, 5, "the partial last line is skipped")
	at := events[0].Received
	pod := Lifetime{IP: "10.244.0.5", Start: at.Add(-time.Minute)}
	require.Equal(t, 1, UnauthorizedFrom(events, pod), "one request, two stages")
	// The same IP held by an earlier pod, or by a later one: not this pod's 401.
	require.Zero(t, UnauthorizedFrom(events, Lifetime{IP: "10.244.0.5", Start: at.Add(-time.Hour), End: at.Add(-time.Second)}))
	require.Zero(t, UnauthorizedFrom(events, Lifetime{IP: "10.244.0.5", Start: at.Add(time.Second)}))
	require.Zero(t, UnauthorizedFrom(events, Lifetime{Start: at.Add(-time.Minute)}), "no IP, no attribution")
	require.Equal(t, "u1", events[2].PodUID())
	require.Equal(t, "JTI=j1", events[2].CredentialID())

	stale := StaleTokens(events)
	require.Len(t, stale, 1, "fresh tokens are not stale")
	require.Equal(t, "ns1", stale[0].Namespace)
	require.Equal(t, "probe", stale[0].ServiceAccount)
	require.Equal(t, "probe", stale[0].Pod)
	require.Equal(t, 2, stale[0].Requests)
	require.Contains(t, stale[0].Annotation, "72")
}
