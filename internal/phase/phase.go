// Package phase prints what the harness is doing and records how long each step took,
// so long builds and waits are visible and their durations land in the JSON report.
package phase

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Timing is one finished phase.
type Timing struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// Recorder prints phase banners to Out and remembers their durations.
type Recorder struct {
	Out io.Writer
	// Prefix starts every line: which part of a matrix run is talking.
	Prefix string

	mu      sync.Mutex
	timings []Timing
}

// New returns a Recorder printing to stderr.
func New() *Recorder { return &Recorder{Out: os.Stderr} }

// Run runs fn as the named phase.
func (r *Recorder) Run(name string, fn func() error) error {
	start := time.Now()
	r.Printf("==> %s", name)
	err := fn()
	t := Timing{Name: name, Seconds: time.Since(start).Round(100 * time.Millisecond).Seconds()}
	if err != nil {
		t.Error = err.Error()
		r.Printf("<== %s failed after %.1fs", name, t.Seconds)
	} else {
		r.Printf("<== %s (%.1fs)", name, t.Seconds)
	}
	r.mu.Lock()
	r.timings = append(r.timings, t)
	r.mu.Unlock()
	return err
}

// Printf prints one timestamped progress line.
func (r *Recorder) Printf(format string, args ...any) {
	if r == nil || r.Out == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if r.Prefix != "" { // every line: parallel parts interleave
		msg = strings.ReplaceAll(msg, "\n", "\n"+r.Prefix)
	}
	fmt.Fprintf(r.Out, "%s %s%s\n", time.Now().Format("15:04:05"), r.Prefix, msg)
}

// Timings returns the phases finished so far.
func (r *Recorder) Timings() []Timing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Timing(nil), r.timings...)
}

// Heartbeat prints a line every minute while a long step runs silently (a cold compile),
// with the time spent and, against the expected cold duration, roughly what remains.
// Call the returned stop when the step ends.
func (r *Recorder) Heartbeat(what string, expected time.Duration) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				spent := time.Since(start).Round(time.Second)
				left := "a little longer than a cold build usually takes"
				if rest := expected - spent; rest > 0 {
					left = fmt.Sprintf("about %s left if cold", rest.Round(time.Minute))
				}
				r.Printf("still %s: %s so far, %s", what, spent, left)
			}
		}
	}()
	return func() { close(done) }
}
