package scan

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeClientGoAt is a stand-in client-go whose packages sit in dir and are imported as
// importPath/rest and importPath/transport, with a main.go using both: the names matter,
// not the code.
func fakeClientGoAt(dir, importPath string) map[string]string {
	return map[string]string{
		dir + "/rest/config.go": `package rest

type Config struct{ Host string }

//go:noinline
func InClusterConfig() (*Config, error) { return &Config{Host: "https://10.96.0.1"}, nil }

//go:noinline
func (c *Config) Describe() string { return "host " + c.Host }
`,
		dir + "/transport/transport.go": `package transport

//go:noinline
func New(host string) string { return host + "/" }
`,
		"main.go": `package main

import (
	"fmt"

	"` + importPath + `/rest"
	"` + importPath + `/transport"
)

func main() {
	c, _ := rest.InClusterConfig()
	fmt.Println(c.Describe(), transport.New(c.Host))
}
`,
	}
}

// fakeClientGo is a stand-in k8s.io/client-go, vendored into a GOPATH project.
var fakeClientGo = fakeClientGoAt("vendor/k8s.io/client-go", ClientGoPath)

// gopathBinary builds files as GOPATH/src/example.com/addon in GOPATH mode, stripped:
// the build info then has no module list, as for binaries built before Go modules.
func gopathBinary(t *testing.T, files map[string]string) string {
	t.Helper()
	gopath := t.TempDir()
	dir := filepath.Join(gopath, "src", "example.com", "addon")
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return buildGOPATHStripped(t, gopath, dir)
}

// buildGOPATHStripped builds the package in dir (inside gopath) with GO111MODULE=off and
// -ldflags=-s -w, and returns the binary's path.
func buildGOPATHStripped(t *testing.T, gopath, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "addon")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOPATH="+gopath, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "GOPATH-mode build: %s", out)
	return bin
}

func TestFuncNamesOfStrippedGOPATHBinary(t *testing.T) {
	bin := gopathBinary(t, fakeClientGo)
	ef, err := elf.Open(bin)
	require.NoError(t, err)
	require.Nil(t, ef.Section(".symtab"), "-s strips the symbol table")
	ef.Close()

	f, err := os.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	names, err := funcNames(f)
	require.NoError(t, err)
	require.Contains(t, names, "main.main")
	require.Contains(t, names, "example.com/addon/vendor/k8s.io/client-go/rest.InClusterConfig")

	fd, err := ClientGo(bin)
	require.NoError(t, err)
	require.Empty(t, fd.MainModule, "GOPATH mode: no module list")
	require.Equal(t, runtime.Version(), fd.GoVersion)
	require.Equal(t, &Module{Path: ClientGoPath}, fd.ClientGo)
	require.Equal(t, FromSymbols, fd.ClientGoBy)
	require.Equal(t, []string{"example.com/addon/vendor/k8s.io/client-go"}, fd.ClientGoAt)
	require.Equal(t, []string{
		"k8s.io/client-go/rest.(*Config).Describe",
		"k8s.io/client-go/rest.InClusterConfig",
		"k8s.io/client-go/transport.New",
	}, fd.funcs)
}

func TestFuncNamesNotGo(t *testing.T) {
	_, err := funcNames(strings.NewReader("#!/bin/sh\necho hi\n"))
	require.Error(t, err)
	ef, err := os.Open("/proc/self/exe") // the test binary itself is a Go binary
	require.NoError(t, err)
	defer ef.Close()
	names, err := funcNames(ef)
	require.NoError(t, err)
	require.Contains(t, names, "github.com/satoken-e2e/satoken-e2e/internal/scan.funcNames")
}

func TestClientGoName(t *testing.T) {
	for _, tc := range []struct{ name, norm, root string }{
		{"k8s.io/client-go/rest.InClusterConfig", "k8s.io/client-go/rest.InClusterConfig", "k8s.io/client-go"},
		{"example.com/addon/vendor/k8s.io/client-go/rest.(*Config).Describe", "k8s.io/client-go/rest.(*Config).Describe", "example.com/addon/vendor/k8s.io/client-go"},
		{"vendor/k8s.io/client-go/transport.New", "k8s.io/client-go/transport.New", "vendor/k8s.io/client-go"},
		{"github.com/a/b/vendor/github.com/c/d/vendor/k8s.io/client-go/rest.F", "k8s.io/client-go/rest.F", "github.com/a/b/vendor/github.com/c/d/vendor/k8s.io/client-go"},
		{"k8s.io/client-go/tools/cache.(*Store[...]).Add", "k8s.io/client-go/tools/cache.(*Store[...]).Add", "k8s.io/client-go"},
		// Copies under other paths: a renamed vendor directory, a fork's own module path.
		{"example.com/addon/third_party/forked/client-go/rest.F", "k8s.io/client-go/rest.F", "example.com/addon/third_party/forked/client-go"},
		{"github.com/fork/client-go/transport.New", "k8s.io/client-go/transport.New", "github.com/fork/client-go"},
	} {
		norm, root, ok := clientGoName(tc.name)
		require.True(t, ok, tc.name)
		require.Equal(t, tc.norm, norm, tc.name)
		require.Equal(t, tc.root, root, tc.name)
	}
	for _, name := range []string{
		"k8s.io/client-gox/rest.F",
		"example.com/my-client-go/rest.F",
		"example.com/x.F[example.com/x/vendor/k8s.io/client-go/rest.Config]",
		"type:.eq.k8s.io/client-go/rest.Config",
		"type:.eq.example.com/addon/vendor/k8s.io/client-go/rest.Config",
		"type..hash.example.com/addon/vendor/k8s.io/client-go/rest.Config",
		"sigs.k8s.io/controller-runtime/pkg/client.New",
	} {
		_, _, ok := clientGoName(name)
		require.False(t, ok, name)
	}
	// A root counts only with rest or transport functions: OpenShift's and Istio's
	// generated clients are named client-go too.
	funcs, roots := clientGoFuncs([]string{"main.main", "a/vendor/k8s.io/client-go/rest.F", "k8s.io/client-go/rest.F", "k8s.io/client-go/rest.G",
		"github.com/openshift/client-go/config/clientset/versioned.NewForConfig", "istio.io/client-go/pkg/clientset/versioned.NewForConfig"})
	require.Equal(t, []string{"k8s.io/client-go/rest.F", "k8s.io/client-go/rest.G"}, funcs)
	require.Equal(t, []string{"a/vendor/k8s.io/client-go", "k8s.io/client-go"}, roots)
}

func TestFuncKey(t *testing.T) {
	for name, want := range map[string]string{
		"k8s.io/client-go/rest.InClusterConfig":             "k8s.io/client-go/rest.InClusterConfig",
		"k8s.io/client-go/rest.(*Request).Do":               "k8s.io/client-go/rest.Request.Do",
		"k8s.io/client-go/rest.Result.Into":                 "k8s.io/client-go/rest.Result.Into",
		"k8s.io/client-go/tools/cache.(*Store[...]).Add":    "k8s.io/client-go/tools/cache.Store.Add",
		"k8s.io/client-go/util/workqueue.New[go.shape.int]": "k8s.io/client-go/util/workqueue.New",
	} {
		_, key, ok := funcKey(name)
		require.True(t, ok, name)
		require.Equal(t, want, key, name)
	}
	for _, name := range []string{
		"k8s.io/client-go/rest.InClusterConfig.func1",
		"k8s.io/client-go/rest.(*Request).Do.func1",
		"k8s.io/client-go/rest.(*Request).Do.func1.2",
		"k8s.io/client-go/rest.(*Request).Do-fm",
		"k8s.io/client-go/rest.(*Request).request.deferwrap1",
		"k8s.io/client-go/rest.init",
		"k8s.io/client-go/rest.init.0",
		"k8s.io/client-go/rest.glob..func1",
		"main",
	} {
		_, _, ok := funcKey(name)
		require.False(t, ok, name)
	}
}
