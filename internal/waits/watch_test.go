package waits

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// watchIn is a fast watch logging into the returned buffer.
func watchIn(progressEvery time.Duration) (WatchInput, *bytes.Buffer) {
	var out bytes.Buffer
	return WatchInput{What: "token expiry", Every: time.Millisecond, ProgressEvery: progressEvery, Log: &phase.Recorder{Out: &out}}, &out
}

// looks is a look that has been called *n times and reports from its n-th call on.
func looks(n *int, from func(n int) Look) func(context.Context) (Look, error) {
	return func(context.Context) (Look, error) {
		*n++
		return from(*n), nil
	}
}

func TestWatchDone(t *testing.T) {
	t0 := time.Now()
	in, out := watchIn(0)
	n := 0
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(int) Look { return Look{Now: t0, Until: t0, Progress: "waiting"} })))
	require.Equal(t, 1, n, "done at the first look")
	require.Empty(t, out.String(), "no progress once done")

	require.NoError(t, Watch(context.Background(), in, looks(&n, func(int) Look { return Look{Now: t0} })), "nothing to wait for (zero Until)")

	n = 0
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(n int) Look {
		return Look{Now: t0.Add(time.Duration(n) * time.Second), Until: t0.Add(3 * time.Second), Progress: "waiting"}
	})))
	require.Equal(t, 3, n, "done once Now reaches Until")
	require.Equal(t, 2, strings.Count(out.String(), "waiting\n"), "progress at every look that is not done")
}

// TestWatchTheLookClockDecides: a look whose clock (an audit log's newest event) lags
// behind its Until keeps the watch going though the host's clock is long past it.
func TestWatchTheLookClockDecides(t *testing.T) {
	until := time.Now().Add(-time.Hour)
	in, _ := watchIn(0)
	n := 0
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(n int) Look {
		if n < 4 {
			return Look{Now: until.Add(-time.Second), Until: until}
		}
		return Look{Now: until, Until: until}
	})))
	require.Equal(t, 4, n)
}

// TestWatchEnd: a look that ends the watch (a bound reached) ends it without an error,
// logging why; a look that is done ends it silently.
func TestWatchEnd(t *testing.T) {
	t0 := time.Now()
	in, out := watchIn(0)
	n := 0
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(n int) Look {
		l := Look{Now: t0, Until: t0.Add(time.Hour)}
		switch {
		case n == 2:
			l.End = "the watch reached its bound"
		case n > 2:
			l.Until = t0 // a loop that missed the End ends here
		}
		return l
	})))
	require.Equal(t, 2, n)
	require.Contains(t, out.String(), "the watch reached its bound\n")

	out.Reset()
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(int) Look { return Look{Now: t0, Until: t0, End: "bound"} })))
	require.Empty(t, out.String(), "done wins over End")
}

func TestWatchLookError(t *testing.T) {
	in, _ := watchIn(0)
	boom := errors.New("v8.0.0's token lives 8760h0m0s")
	err := Watch(context.Background(), in, func(context.Context) (Look, error) { return Look{}, boom })
	require.Equal(t, boom, err, "returned as is")
}

// TestWatchProgressEvery: at most one progress line per ProgressEvery, the first at once.
func TestWatchProgressEvery(t *testing.T) {
	t0 := time.Now()
	in, out := watchIn(time.Hour)
	n := 0
	require.NoError(t, Watch(context.Background(), in, looks(&n, func(n int) Look {
		return Look{Now: t0, Until: t0.Add(time.Duration(5-n) * time.Hour), Progress: "waiting"}
	})))
	require.Equal(t, 5, n)
	require.Equal(t, 1, strings.Count(out.String(), "waiting\n"))
}

// TestWatchCancelledSaysSo: a watch ended by Ctrl-C in its sleep says it was stopped and
// why, and still matches context.Canceled (the command prints the reason alone then).
func TestWatchCancelledSaysSo(t *testing.T) {
	t0 := time.Now()
	ctx, cancel := context.WithCancelCause(context.Background())
	interrupted := errors.New("interrupted")
	in, _ := watchIn(0)
	in.Every = time.Minute
	n := 0
	err := Watch(ctx, in, looks(&n, func(n int) Look {
		cancel(interrupted)
		if n > 1 {
			return Look{Now: t0, Until: t0} // a loop that slept through the cancel ends here
		}
		return Look{Now: t0, Until: t0.Add(time.Hour)}
	}))
	require.EqualError(t, err, "stopped waiting for token expiry (interrupted)")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, interrupted)
	require.Equal(t, 1, n)
}
