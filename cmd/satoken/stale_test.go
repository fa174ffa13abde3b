package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func runStale(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := newStaleCommand()
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

	// A client seen with two token versions re-read its token: judged, passes.
	reloads := `{"auditID":"b1","stage":"ResponseComplete","requestReceivedTimestamp":"2026-11-26T20:11:00Z","user":{"username":"system:serviceaccount:new:probe","extra":{"authentication.kubernetes.io/pod-name":["probe-2"],"authentication.kubernetes.io/credential-id":["JTI=one"]}}}
{"auditID":"b2","stage":"ResponseComplete","requestReceivedTimestamp":"2026-11-26T21:00:00Z","user":{"username":"system:serviceaccount:new:probe","extra":{"authentication.kubernetes.io/pod-name":["probe-2"],"authentication.kubernetes.io/credential-id":["JTI=two"]}}}
`
	clean := filepath.Join(dir, "clean.log")
	require.NoError(t, os.WriteFile(clean, []byte(reloads), 0o644))
	out, err = runStale(t, clean)
	require.NoError(t, err)
	require.Equal(t, "no stale-token use in 2 audit events\n", out)

	// One token version and no annotation: its token may not have been old enough yet.
	once := filepath.Join(dir, "once.log")
	require.NoError(t, os.WriteFile(once, []byte(reloads+`{"auditID":"c1","stage":"ResponseComplete","requestReceivedTimestamp":"2026-11-26T20:11:00Z","user":{"username":"system:serviceaccount:young:app","extra":{"authentication.kubernetes.io/pod-name":["app-1"],"authentication.kubernetes.io/credential-id":["JTI=x"]}}}
`), 0o644))
	out, err = runStale(t, once)
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, exitNotJudged, ee.code)
	require.Contains(t, out, "not judged")
	require.Contains(t, out, "app-1")

	// Nothing pod-bound at all: nothing was judged, so no pass.
	empty := filepath.Join(dir, "empty.log")
	require.NoError(t, os.WriteFile(empty, []byte(`{"auditID":"a2","stage":"ResponseComplete","user":{"username":"system:serviceaccount:new:probe"}}`+"\n"), 0o644))
	_, err = runStale(t, empty)
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, exitNotJudged, ee.code)

	_, err = runStale(t, filepath.Join(dir, "missing.log"))
	require.ErrorContains(t, err, "no such file")
}
