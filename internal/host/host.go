// Package host makes the machine able to run kind: a Docker engine (installed from Debian's
// docker.io and started when none answers) and, only where the capability bounding set
// lacks CAP_SYS_RESOURCE, a runc wrapper registered as dockerd's default runtime.
package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/kind/pkg/exec"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/gocmd"
	"github.com/satoken-e2e/satoken-e2e/internal/hostcmd"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

const (
	// capSysResource is CAP_SYS_RESOURCE's bit in the capability sets.
	capSysResource = 24
	// RuntimeName is the dockerd runtime registered on hosts without CAP_SYS_RESOURCE.
	RuntimeName = "satoken-runc"
	// WrapperPath is where the runc wrapper is installed on the host.
	WrapperPath    = "/usr/local/libexec/satoken/runc-nosysresource"
	daemonJSON     = "/etc/docker/daemon.json"
	dockerdLog     = "/var/log/satoken-dockerd.log"
	dockerdPIDFile = "/var/run/satoken-dockerd.pid"
)

// Packages are the Debian packages the harness needs on the host.
var Packages = map[string]string{ // command -> package
	"dockerd":     "docker.io",
	"debootstrap": "debootstrap",
	"gcc":         "gcc",
}

// NodePackages are what building the JavaScript probes needs on the host (npm ci).
var NodePackages = map[string]string{"node": "nodejs", "npm": "npm"}

// Input configures Ensure.
type Input struct {
	RepoRoot string // to build the runc wrapper from cmd/runc-nosysresource
	Log      *phase.Recorder
}

// Facts are what Ensure found out about the host.
type Facts struct {
	CapSysResourceMissing bool
	StartedDockerd        bool
}

// Ensure installs and starts what is missing; on a host that already runs a Docker engine
// with every capability it changes nothing.
func Ensure(ctx context.Context, in Input) (Facts, error) {
	var f Facts
	missing, err := CapabilityMissing(capSysResource)
	if err != nil {
		return f, err
	}
	f.CapSysResourceMissing = missing
	if err := Install(ctx, in.Log, Packages); err != nil {
		return f, err
	}
	if missing {
		if err := installWrapper(ctx, in); err != nil {
			return f, err
		}
	}
	running := docker.Answers(ctx)
	if running && missing && !runtimeRegistered(ctx) {
		if !startedByUs() {
			return f, fmt.Errorf("this host lacks CAP_SYS_RESOURCE and the running Docker engine has no %q runtime; "+
				"add it to %s (path %s, and set it as default-runtime), restart dockerd, and retry", RuntimeName, daemonJSON, WrapperPath)
		}
		in.Log.Printf("restarting the dockerd satoken started, to register the %s runtime", RuntimeName)
		if err := stopDockerd(); err != nil {
			return f, err
		}
		running = false
	}
	if running {
		return f, nil
	}
	if missing {
		if err := registerRuntime(); err != nil {
			return f, err
		}
	}
	if err := startDockerd(ctx, in.Log); err != nil {
		return f, err
	}
	f.StartedDockerd = true
	return f, nil
}

// CapabilityMissing reports whether bit is absent from this process's bounding set.
func CapabilityMissing(bit uint) (bool, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	return capMissingFromStatus(string(data), bit)
}

func capMissingFromStatus(status string, bit uint) (bool, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("parse CapBnd %q: %w", v, err)
			}
			return mask&(1<<bit) == 0, nil
		}
	}
	return false, errors.New("no CapBnd line in /proc/self/status")
}

// Install installs the Debian packages (command -> package) whose command is missing.
func Install(ctx context.Context, log *phase.Recorder, packages map[string]string) error {
	var need []string
	for cmd, pkg := range packages {
		if _, err := osexec.LookPath(cmd); err != nil {
			need = append(need, pkg)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing Debian packages %v and not running as root: install them (apt-get install %s) or rerun as root", need, strings.Join(need, " "))
	}
	log.Printf("installing Debian packages: %s", strings.Join(need, " "))
	if _, err := hostcmd.Output(exec.CommandContext(ctx, "apt-get", "update", "-qq")); err != nil {
		return err
	}
	_, err := hostcmd.Output(exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, need...)...).
		SetEnv(append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")...))
	return err
}

func runtimeRegistered(ctx context.Context) bool {
	out, err := docker.DefaultRuntime(ctx)
	return err == nil && out == RuntimeName
}

// installWrapper builds the runc wrapper (Go build cache makes this instant when unchanged)
// from in.RepoRoot: a checkout, or the unpacked embedded tree, whose stub go.mod is enough
// since the wrapper uses only the standard library. Its bytes are in the node image's
// inputs hash, so no commit stamp goes in (-buildvcs=false): each commit rebuilt the
// node images.
func installWrapper(ctx context.Context, in Input) error {
	if err := os.MkdirAll(filepath.Dir(WrapperPath), 0o755); err != nil {
		return fmt.Errorf("install runc wrapper (needs root): %w", err)
	}
	_, err := gocmd.Run(ctx, in.RepoRoot, gocmd.Pinned, "build", "-trimpath", "-buildvcs=false", "-o", WrapperPath, "./cmd/runc-nosysresource")
	return err
}

// registerRuntime merges the wrapper runtime into daemon.json, keeping other settings.
func registerRuntime() error {
	cfg := map[string]any{}
	if data, err := os.ReadFile(daemonJSON); err == nil {
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("%s: %w", daemonJSON, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if runtimes == nil {
		runtimes = map[string]any{}
	}
	runtimes[RuntimeName] = map[string]any{"path": WrapperPath}
	cfg["runtimes"] = runtimes
	cfg["default-runtime"] = RuntimeName
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(daemonJSON), 0o755); err != nil {
		return err
	}
	return os.WriteFile(daemonJSON, data, 0o644)
}

// closeInheritedOnExec marks every descriptor above stderr close-on-exec. Go opens its
// own files that way; descriptors inherited from the parent process are not.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

func startDockerd(ctx context.Context, log *phase.Recorder) error {
	if os.Geteuid() != 0 {
		return errors.New("no Docker engine answers and not running as root: start dockerd, or rerun as root")
	}
	// A dockerd killed with its machine session leaves its pid file; if that pid now
	// belongs to another process, dockerd would refuse to start.
	if pid, err := readPID(); err == nil && !isDockerd(pid) {
		_ = os.Remove(dockerdPIDFile)
	}
	logf, err := os.OpenFile(dockerdLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// dockerd outlives us: it must not keep what we inherited open, such as the lock file
	// of a `flock … satoken` that started us (the lock would stay held for good).
	closeInheritedOnExec()
	cmd := osexec.Command("dockerd", "--pidfile", dockerdPIDFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session, so it outlives this process and a Ctrl-C here.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	log.Printf("started dockerd (pid %d, log %s)", cmd.Process.Pid, dockerdLog)
	_ = cmd.Process.Release()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if docker.Answers(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("dockerd did not answer within 60s; see %s", dockerdLog)
}

// startedByUs is true when the running dockerd is the one Ensure started.
func startedByUs() bool {
	pid, err := readPID()
	return err == nil && isDockerd(pid)
}

func isDockerd(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "dockerd"
}

func stopDockerd() error {
	pid, err := readPID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	for i := 0; i < 60; i++ {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("dockerd (pid %d) did not stop", pid)
}

func readPID() (int, error) {
	data, err := os.ReadFile(dockerdPIDFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// MemAvailable is the memory the kernel says new work can use without swapping.
func MemAvailable() (uint64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			var kib uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %q: %w", line, err)
			}
			return kib * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemAvailable")
}
