package find

import (
	"debug/elf"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/scan/find/findtest"
)

func TestFuncNamesOfStrippedGOPATHBinary(t *testing.T) {
	bin := findtest.GOPATHBinary(t, findtest.FakeClientGo)
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
	}, fd.Funcs)
}

func TestFuncNamesNotGo(t *testing.T) {
	_, err := funcNames(strings.NewReader("#!/bin/sh\necho hi\n"))
	require.Error(t, err)
	ef, err := os.Open("/proc/self/exe") // the test binary itself is a Go binary
	require.NoError(t, err)
	defer ef.Close()
	names, err := funcNames(ef)
	require.NoError(t, err)
	require.Contains(t, names, "github.com/satoken-e2e/satoken-e2e/internal/scan/find.funcNames")
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
		_, key, ok := FuncKey(name)
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
		_, _, ok := FuncKey(name)
		require.False(t, ok, name)
	}
}
