package waits

import (
	"context"
	"fmt"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// WatchInput is one watch: a wait whose end moves with what it sees (a token's expiry,
// then its holder's next calls), told by a clock of the caller's.
type WatchInput struct {
	What          string        // what is awaited, for the error of a cancelled watch
	Every         time.Duration // longest sleep between looks
	ProgressEvery time.Duration // at most one progress line per this (host clock); 0: every look
	Log           *phase.Recorder
}

// Look is what one look saw.
type Look struct {
	// Now is by the watch's own clock: the host's, or the newest event of an audit log
	// that may lag behind it (the watch must not end before the events are in).
	Now      time.Time
	Until    time.Time // the watch is done once Now reaches it
	Progress string    // logged while not done; "" logs nothing
	// End, when not done, ends the watch anyway (a bound reached); it is logged.
	End string
}

// minSleep keeps a look that ends a hair before its Until from spinning.
const minSleep = time.Second

// Watch calls look, at once first, until Now reaches Until or look ends the watch (both
// return nil), look fails (its error is returned as is) or ctx ends (an error naming
// ctx's cause that still matches ctx.Err()). Between looks it sleeps until Until, at most
// in.Every.
func Watch(ctx context.Context, in WatchInput, look func(context.Context) (Look, error)) error {
	var printed time.Time
	for {
		l, err := look(ctx)
		switch {
		case err != nil:
			return err
		case !l.Now.Before(l.Until):
			return nil
		case l.End != "":
			in.Log.Printf("%s", l.End)
			return nil
		}
		if l.Progress != "" && time.Since(printed) >= in.ProgressEvery {
			printed = time.Now()
			in.Log.Printf("%s", l.Progress)
		}
		t := time.NewTimer(min(in.Every, max(l.Until.Sub(l.Now), minSleep)))
		select {
		case <-ctx.Done():
			t.Stop()
			return stopped(ctx, in.What, "")
		case <-t.C:
		}
	}
}

// stoppedError is a wait that ctx ended: it says why (ctx's cause: Ctrl-C, SIGTERM, a
// lost cluster) and what it last saw, and matches both the cause and ctx.Err()
// (context.Canceled), which the command tests to print the reason alone.
type stoppedError struct {
	what, seen string
	cause, err error
}

func stopped(ctx context.Context, what, seen string) error {
	return stoppedError{what: what, seen: seen, cause: context.Cause(ctx), err: ctx.Err()}
}

func (e stoppedError) Error() string {
	msg := fmt.Sprintf("stopped waiting for %s (%v)", e.what, e.cause)
	if e.seen != "" {
		msg += "; last seen: " + e.seen
	}
	return msg
}

func (e stoppedError) Unwrap() []error { return []error{e.cause, e.err} }
