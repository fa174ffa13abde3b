// Package waits holds the one poll loop (Until) and the one watch loop (Watch): a wait
// the session cancelled (Ctrl-C, SIGTERM, a lost cluster) says so with the context's
// cause, and one that ran out of time says what it last saw. Timeouts scale with
// SATOKEN_TIMEOUT_SCALE for slow machines.
package waits

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Input is one wait.
type Input struct {
	What    string        // what is awaited, for the error ("pod ns/name running")
	Every   time.Duration // poll interval
	Timeout time.Duration // before Scale
}

// ErrTimeout is wrapped by the error of a wait that ran out of time.
var ErrTimeout = errors.New("timed out")

// Until calls check every in.Every, at once first, until it reports done or an error,
// the context ends, or the (scaled) timeout passes. check says what it saw; the error of
// a wait that did not finish names it.
func Until(ctx context.Context, in Input, check func(context.Context) (done bool, seen string, err error)) error {
	timeout := Scale(in.Timeout)
	var last string
	err := wait.PollUntilContextTimeout(ctx, in.Every, timeout, true, func(ctx context.Context) (bool, error) {
		done, seen, err := check(ctx)
		if seen != "" {
			last = seen
		}
		return done, err
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return stopped(ctx, in.What, or(last))
	case wait.Interrupted(err):
		return fmt.Errorf("%s: %w after %s; last seen: %s", in.What, ErrTimeout, timeout, or(last))
	}
	return fmt.Errorf("waiting for %s: %w", in.What, err)
}

func or(seen string) string {
	if seen == "" {
		return "nothing"
	}
	return seen
}

// Scale stretches a timeout by SATOKEN_TIMEOUT_SCALE (e.g. 2 on a slow machine); an
// unset or invalid value leaves it as is.
func Scale(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("SATOKEN_TIMEOUT_SCALE"), 64)
	if err != nil || f <= 0 {
		return d
	}
	return time.Duration(float64(d) * f)
}
