package cluster

import (
	"fmt"
	"strings"

	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// kindLogger writes kind's status lines through the session's log: timestamped (so a
// report's slow cluster phase can be read step by step), and prefixed with their part
// when a matrix brings clusters up side by side. Only kind's user-facing level is shown.
type kindLogger struct{ log *phase.Recorder }

// loggerFor is kind's logger for log: kind's own stderr logger when log is nil.
func loggerFor(log *phase.Recorder) kindlog.Logger {
	if log == nil {
		return kindcmd.NewLogger()
	}
	return kindLogger{log}
}

func (l kindLogger) Warn(m string)                        { l.log.Printf("kind: warning: %s", trim(m)) }
func (l kindLogger) Warnf(f string, args ...any)          { l.Warn(fmt.Sprintf(f, args...)) }
func (l kindLogger) Error(m string)                       { l.log.Printf("kind: error: %s", trim(m)) }
func (l kindLogger) Errorf(f string, args ...any)         { l.Error(fmt.Sprintf(f, args...)) }
func (l kindLogger) V(v kindlog.Level) kindlog.InfoLogger { return kindInfo{l.log, v <= 0} }

type kindInfo struct {
	log *phase.Recorder
	on  bool
}

func (i kindInfo) Info(m string) {
	if i.on {
		i.log.Printf("kind: %s", strings.TrimLeft(trim(m), " "))
	}
}
func (i kindInfo) Infof(f string, args ...any) { i.Info(fmt.Sprintf(f, args...)) }
func (i kindInfo) Enabled() bool               { return i.on }

func trim(m string) string { return strings.TrimRight(m, "\n") }
