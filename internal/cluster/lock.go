package cluster

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// lock is an exclusive claim on a cluster name by this process: while one satoken
// command uses a cluster, another must not replace or delete it. The kernel drops the
// claim when the process exits, however it exits.
type lock struct{ f *os.File }

// lockPath sits beside the state directory, which Down removes.
func (o Options) lockPath() string { return strings.TrimRight(o.StateDir, "/") + ".lock" }

// acquire claims the cluster, or says which process holds it.
func (o Options) acquire() (*lock, error) {
	f, err := os.OpenFile(o.lockPath(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(o.lockPath())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, field.Invalid(field.NewPath("Name"), o.Name, fmt.Sprintf("cluster in use by another satoken process (pid %s): choose another, or wait for it to finish",
				strings.TrimSpace(string(holder))))
		}
		return nil, fmt.Errorf("lock cluster %q: %w", o.Name, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &lock{f: f}, nil
}

// release gives the claim up (nil-safe).
func (l *lock) release() {
	if l != nil {
		l.f.Close()
	}
}
