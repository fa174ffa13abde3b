package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// runFlagsError parses args as `satoken run` flags and returns the validation error.
func runFlagsError(t *testing.T, args ...string) error {
	t.Helper()
	var f runFlags
	c := runCommand(&f)
	require.NoError(t, c.Flags().Parse(args))
	return f.target.validate(c, true)
}

func TestTargetFlags(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: https://127.0.0.1:1}}]\nusers: [{name: u, user: {}}]\n"), 0o600))

	require.NoError(t, runFlagsError(t), "satoken's own cluster")
	require.NoError(t, runFlagsError(t, "--kubeconfig", kc, "--registry", "localhost:5000/satoken"))
	require.NoError(t, runFlagsError(t, "--kubeconfig", kc, "--load", "kind:other"))

	for args, want := range map[*[]string]string{
		{"--registry", "localhost:5000/satoken"}:                                   "--registry applies to an existing cluster",
		{"--kubeconfig", kc}:                                                       "the probe images need a way into that cluster",
		{"--kubeconfig", kc, "--cluster", "x", "--load", "kind:x"}:                 "--cluster applies to a cluster satoken creates",
		{"--kubeconfig", kc, "--registry", "localhost:5000/s", "--load", "kind:x"}: "choose one way",
		{"--kubeconfig", kc, "--load", "other"}:                                    "want kind:NAME",
		{"--kubeconfig", kc, "--load", "kind:x", "--pull-secret", "nons"}:          "want NAMESPACE/NAME",
		{"--kubeconfig", kc, "--registry", "localhost:5000"}:                       "HOST[:PORT]/PATH",
	} {
		err := runFlagsError(t, *args...)
		require.Error(t, err, "%v", *args)
		require.Contains(t, asFlagError(err).Error(), want, "%v", *args)
	}
}
