package find

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/prereq"
)

var tiny struct {
	once sync.Once
	path string
	err  error
}

// tinyBinary builds, once per test run, a Go program without dependencies.
func tinyBinary(t *testing.T) string {
	t.Helper()
	prereq.Command(t, "go", "the test builds a binary")
	tiny.once.Do(func() {
		dir, err := os.MkdirTemp("", "satoken-scan-test-")
		if err != nil {
			tiny.err = err
			return
		}
		write := func(name, content string) {
			if tiny.err == nil {
				tiny.err = os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
			}
		}
		write("go.mod", "module example.com/tiny\n\ngo 1.21\n")
		write("main.go", "package main\n\nfunc main() {}\n")
		if tiny.err != nil {
			return
		}
		tiny.path = filepath.Join(dir, "tiny")
		cmd := exec.Command("go", "build", "-o", tiny.path, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			tiny.err = err
			t.Logf("%s", out)
		}
	})
	require.NoError(t, tiny.err)
	return tiny.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tiny.path != "" {
		os.RemoveAll(filepath.Dir(tiny.path))
	}
	os.Exit(code)
}

func TestClientGoWithoutClientGo(t *testing.T) {
	bin := tinyBinary(t)
	f, err := ClientGo(bin)
	require.NoError(t, err)
	require.Equal(t, bin, f.Target)
	require.Equal(t, "example.com/tiny", f.MainModule)
	require.Equal(t, runtime.Version(), f.GoVersion)
	require.Nil(t, f.ClientGo)
	require.Empty(t, f.ClientGoVersion())
}

func TestClientGoNotGo(t *testing.T) {
	script := filepath.Join(t.TempDir(), "run.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	_, err := ClientGo(script)
	require.ErrorIs(t, err, ErrNotGoBinary)
	require.ErrorContains(t, err, script+": not a Go binary")

	_, err = ClientGo(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestClientGoVersionPrefersReplacement(t *testing.T) {
	f := Finding{ClientGo: &Module{Path: ClientGoPath, Version: "v0.15.7"}}
	require.Equal(t, "v0.15.7", f.ClientGoVersion())
	f.ClientGo.Replace = &Module{Path: ClientGoPath, Version: "v0.20.0"}
	require.Equal(t, "v0.20.0", f.ClientGoVersion())
	f.ClientGo.Replace = &Module{Path: "../client-go"}
	require.Empty(t, f.ClientGoVersion())
}
