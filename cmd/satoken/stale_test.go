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

	clean := filepath.Join(dir, "clean.log")
	require.NoError(t, os.WriteFile(clean, []byte(`{"auditID":"a2","stage":"ResponseComplete","user":{"username":"system:serviceaccount:new:probe"}}`+"\n"), 0o644))
	out, err = runStale(t, clean)
	require.NoError(t, err)
	require.Equal(t, "no stale-token use in 1 audit events\n", out)

	_, err = runStale(t, filepath.Join(dir, "missing.log"))
	require.ErrorContains(t, err, "no such file")
}
