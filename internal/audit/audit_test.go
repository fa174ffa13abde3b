package audit

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sample = `{"auditID":"a1","stage":"ResponseStarted","verb":"list","sourceIPs":["10.244.0.5"],"requestReceivedTimestamp":"2026-11-26T20:10:00.000000Z","user":{},"responseStatus":{"code":401}}
{"auditID":"a1","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.5"],"requestReceivedTimestamp":"2026-11-26T20:10:00.000000Z","user":{},"responseStatus":{"code":401}}
{"auditID":"a2","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.6"],"requestReceivedTimestamp":"2026-11-26T20:11:00.000000Z","user":{"username":"system:serviceaccount:ns1:probe","extra":{"authentication.kubernetes.io/pod-name":["probe"],"authentication.kubernetes.io/pod-uid":["u1"],"authentication.kubernetes.io/credential-id":["JTI=j1"]}},"responseStatus":{"code":200},"annotations":{"authentication.k8s.io/stale-token":"subject: system:serviceaccount:ns1:probe, seconds after warning threshold: 12"}}
{"auditID":"a3","stage":"ResponseComplete","verb":"list","sourceIPs":["10.244.0.6"],"requestReceivedTimestamp":"2026-11-26T20:12:00.000000Z","user":{"username":"system:serviceaccount:ns1:probe","extra":{"authentication.kubernetes.io/pod-name":["probe"],"authentication.kubernetes.io/pod-uid":["u1"]}},"responseStatus":{"code":200},"annotations":{"authentication.k8s.io/stale-token":"subject: system:serviceaccount:ns1:probe, seconds after warning threshold: 72"}}
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

func TestTokenIssues(t *testing.T) {
	log := `{"auditID":"t1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"serviceaccounts","namespace":"ns","name":"addon","subresource":"token"},"requestReceivedTimestamp":"2026-11-26T20:00:01.5Z","user":{"username":"system:node:n"},"responseStatus":{"code":201},"requestObject":{"kind":"TokenRequest","spec":{"audiences":["https://kubernetes.default.svc"],"expirationSeconds":600,"boundObjectRef":{"kind":"Pod","apiVersion":"v1","name":"p","uid":"u1"}},"status":{"token":""}}}
{"auditID":"t2","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"serviceaccounts","namespace":"ns","name":"addon","subresource":"token"},"requestReceivedTimestamp":"2026-11-26T20:00:02Z","user":{"username":"kubernetes-admin"},"responseStatus":{"code":201},"requestObject":{"kind":"TokenRequest","spec":{"expirationSeconds":7200}}}
{"auditID":"t3","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"serviceaccounts","namespace":"ns","name":"addon","subresource":"token"},"requestReceivedTimestamp":"2026-11-26T20:00:03Z","user":{"username":"system:node:n"},"responseStatus":{"code":403},"requestObject":{"kind":"TokenRequest","spec":{"expirationSeconds":600,"boundObjectRef":{"kind":"Pod","uid":"u2"}}}}
`
	events, err := Read(strings.NewReader(log))
	require.NoError(t, err)
	issues := TokenIssues(events)
	require.Len(t, issues, 1, "only successful, pod-bound requests")
	require.Equal(t, "u1", issues[0].PodUID)
	require.EqualValues(t, 600, issues[0].ExpirationSeconds)
	require.Equal(t, time.Date(2026, 11, 26, 20, 0, 1, 500_000_000, time.UTC), issues[0].At)
}

// TestReadFileRotatedAndGzipBackups: a log file given by path is read with its rotated
// backups beside it (plain and gzip-compressed, as the apiserver rotates them), oldest
// first; files of other logs in the directory are not.
func TestReadFileRotatedAndGzipBackups(t *testing.T) {
	dir := t.TempDir()
	line := func(id string, at time.Time) string {
		return fmt.Sprintf(`{"auditID":%q,"stage":"ResponseComplete","requestReceivedTimestamp":%q,"responseStatus":{"code":200}}`+"\n", id, at.Format(time.RFC3339Nano))
	}
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	write := func(name, content string, compress bool) {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		if compress {
			zw := gzip.NewWriter(f)
			_, err = zw.Write([]byte(content))
			require.NoError(t, err)
			require.NoError(t, zw.Close())
		} else {
			_, err = f.Write([]byte(content))
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
	}
	write("audit-2026-12-04T12-00-10.000.log.gz", line("a", t0), true)
	write("audit-2026-12-04T12-00-20.000.log", line("b", t0.Add(10*time.Second)), false)
	write("audit.log", line("c", t0.Add(20*time.Second)), false)
	write("other.log", line("x", t0.Add(-time.Hour)), false)

	evs, err := ReadFile(filepath.Join(dir, "audit.log"))
	require.NoError(t, err)
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.AuditID)
	}
	require.Equal(t, []string{"a", "b", "c"}, ids)
	require.Equal(t, t0, Oldest(evs))
	require.Equal(t, t0.Add(20*time.Second), Newest(evs))
	require.True(t, Oldest(nil).IsZero())

	all, err := ReadFile(dir)
	require.NoError(t, err)
	require.Len(t, all, 4, "a directory is read whole, compressed files included")
}
