// Package gocmd is the one boundary to the go command: every build, module download and
// module query of the harness (probe, canary and add-on binaries, the node image's
// Kubernetes and containerd, the runc wrapper, client-go sources for scan) runs through
// Run, in a directory it names (Outside: no module at all, so no checkout's go.mod plays
// a part) and one of the environments below, never in whatever directory the process
// happens to be in.
package gocmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
)

// Env is what a go command runs with on top of the inherited environment. The text of
// Pinned and Resolve is in the input hashes of the images built with them: changing it
// rebuilds those images.
type Env []string

var (
	// Pinned builds a static binary from a module file that must already hold every
	// dependency (probes, canary, add-ons, the runc wrapper): nothing is resolved.
	Pinned = Env{"CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly"}
	// Resolve lets the go command complete go.mod and go.sum (module downloads, tidying a
	// generated probe module) with the local toolchain only.
	Resolve = Env{"GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod"}
	// Generated builds a static binary in a module satoken writes for a build (the node
	// image's Kubernetes and containerd), whose go.sum the build completes.
	Generated = Env{"CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off"}
)

// Outside is a directory in no module: module queries there see the module proxy, not a
// checkout's go.mod.
func Outside() string { return os.TempDir() }

// Run runs `go args...` in dir with env and returns its stdout; an error names the command
// line and carries the tail of its stderr.
func Run(ctx context.Context, dir string, env Env, args ...string) (string, error) {
	return hostcmd.Output(hostcmd.InDir(exec.CommandContext(ctx, "go", args...), dir, env...))
}

// Version is the local toolchain's version (go env GOVERSION), part of every build's
// inputs.
func Version(ctx context.Context) (string, error) {
	return Run(ctx, Outside(), Resolve, "env", "GOVERSION")
}

// Module is what the go command tells of a module version.
type Module struct {
	Version string
	Time    *time.Time
	Dir     string // in the module cache (Download)
	GoMod   string // its go.mod: a path (Download) or the text (Published)
	Error   string
}

// Download puts path@version into the module cache through the module proxy, running in
// dir (Outside, or a module whose go.sum should record it).
func Download(ctx context.Context, dir, path, version string) (Module, error) {
	return query(ctx, dir, "mod", "download", "-json", path+"@"+version)
}

// Published is path@version as the module proxy lists it (its go.mod and time; the go
// command fetches the .mod and .info files only, never the zip).
func Published(ctx context.Context, path, version string) (Module, error) {
	return query(ctx, Outside(), "list", "-m", "-json", path+"@"+version)
}

func query(ctx context.Context, dir string, args ...string) (Module, error) {
	out, err := Run(ctx, dir, Resolve, args...)
	var m Module
	jerr := json.Unmarshal([]byte(out), &m)
	switch { // a refused module comes with its reason in the JSON and a failed exit
	case m.Error != "":
		return m, fmt.Errorf("go %s: %s", args[len(args)-1], m.Error)
	case err != nil:
		return m, err
	case jerr != nil:
		return m, fmt.Errorf("go %s: %w", args[len(args)-1], jerr)
	}
	return m, nil
}
