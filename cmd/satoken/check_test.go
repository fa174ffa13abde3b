package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad input to check is refused before anything slow (the harness, a cluster): every case
// below returns its error at once, worded in terms of the flags.
func TestCheckRefusesBadInputFirst(t *testing.T) {
	chart := filepath.Join("..", "..", "internal", "check", "testdata", "addon")
	manifests := filepath.Join("..", "..", "fixtures", "check", "good-addon.yaml")
	dir := t.TempDir()
	noWorkload := filepath.Join(dir, "config")
	require.NoError(t, os.MkdirAll(filepath.Join(noWorkload, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(noWorkload, "Chart.yaml"), []byte("apiVersion: v2\nname: config\nversion: 0.1.0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(noWorkload, "templates", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"), 0o644))

	tests := []struct {
		args []string
		want string
	}{
		{nil, "at least one of the flags in the group [manifests chart] is required"},
		{[]string{"--manifests", manifests, "--chart", chart}, "if any flags in the group [manifests chart] are set none of the others can be"},
		{[]string{"--manifests", manifests, "--values", "v.yaml"}, "--values needs --chart"},
		{[]string{"--manifests", manifests, "--set", "a=b"}, "--set needs --chart"},
		{[]string{"--manifests", manifests, "--namespace", "Not_A_Namespace"}, `--namespace "Not_A_Namespace": a lowercase RFC 1123 label`},
		{[]string{"--chart", filepath.Join(dir, "absent")}, "--chart " + filepath.Join(dir, "absent") + ": not a chart directory or packaged chart"},
		{[]string{"--chart", chart, "--values", filepath.Join(dir, "absent.yaml")}, "--values " + filepath.Join(dir, "absent.yaml") + ": values are read from local files only: stat "},
		{[]string{"--chart", chart, "--set", "replicas=-1"}, "--chart " + chart + ": render: "},
		{[]string{"--chart", noWorkload}, "--chart " + noWorkload + ": the manifests contain no workload"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := newCheckCommand()
			c.SilenceUsage, c.SilenceErrors = true, true
			c.SetArgs(tt.args)
			err := c.ExecuteContext(context.Background())
			require.ErrorContains(t, asFlagError(err), tt.want)
		})
	}
}
