// Package findtest builds the inputs tests of the scan packages read: Go binaries that
// link a stand-in client-go (GOPATH mode, stripped) and client-node manifests. It imports
// none of them, so package-internal tests of find can use it; the go command runs
// through gocmd, like every other.
package findtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
)

// FakeClientGoAt is a stand-in client-go whose packages sit in dir and are imported as
// importPath/rest and importPath/transport, with a main.go using both: the names matter,
// not the code.
func FakeClientGoAt(dir, importPath string) map[string]string {
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

// FakeClientGo is a stand-in k8s.io/client-go, vendored into a GOPATH project.
var FakeClientGo = FakeClientGoAt("vendor/k8s.io/client-go", "k8s.io/client-go")

// GOPATHBinary builds files as GOPATH/src/example.com/addon in GOPATH mode, stripped:
// the build info then has no module list, as for binaries built before Go modules.
func GOPATHBinary(t *testing.T, files map[string]string) string {
	t.Helper()
	gopath := t.TempDir()
	dir := filepath.Join(gopath, "src", "example.com", "addon")
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return BuildGOPATHStripped(t, gopath, dir)
}

// BuildGOPATHStripped builds the package in dir (inside gopath) with GO111MODULE=off and
// -ldflags=-s -w, and returns the binary's path.
func BuildGOPATHStripped(t *testing.T, gopath, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "addon")
	_, err := gocmd.Run(context.Background(), dir, gocmd.Env{"GO111MODULE=off", "GOPATH=" + gopath, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOOS=linux"},
		"build", "-ldflags=-s -w", "-o", bin, ".")
	require.NoError(t, err, "GOPATH-mode build")
	return bin
}

// Manifest is the package.json of an npm package.
func Manifest(name, version string) string {
	return `{"name":"` + name + `","version":"` + version + `","main":"dist/index.js"}`
}
