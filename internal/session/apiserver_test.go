package session

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// fakeApiserver answers poll n (from 1) as down(n) says, and stops the test's wait once
// polls have been made.
func fakeApiserver(down func(n int64) bool) (ready func(context.Context) error, polls *atomic.Int64) {
	polls = &atomic.Int64{}
	return func(context.Context) error {
		if down(polls.Add(1)) {
			return errors.New("connection refused")
		}
		return nil
	}, polls
}

func waitPolls(t *testing.T, polls *atomic.Int64, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return polls.Load() >= n }, 5*time.Second, time.Millisecond)
}

func TestWatchApiserver(t *testing.T) {
	const every = 5 * time.Millisecond
	t.Run("an outage of several polls is recorded from the last answer to the next", func(t *testing.T) {
		var out bytes.Buffer
		ready, polls := fakeApiserver(func(n int64) bool { return n >= 3 && n <= 6 })
		start := time.Now()
		stop := watchApiserver(context.Background(), ready, every, &phase.Recorder{Out: &out})
		waitPolls(t, polls, 10)
		outages := stop()
		require.Len(t, outages, 1)
		o := outages[0]
		require.True(t, o.From.After(start) && o.To.After(o.From), "%+v", o)
		require.GreaterOrEqual(t, o.To.Sub(o.From), 4*every, "spans the four failed polls")
		require.Contains(t, out.String(), "the apiserver has not answered since")
		require.Contains(t, out.String(), "the apiserver answers again after")
	})
	t.Run("one failed poll is no outage", func(t *testing.T) {
		ready, polls := fakeApiserver(func(n int64) bool { return n == 3 })
		stop := watchApiserver(context.Background(), ready, every, nil)
		waitPolls(t, polls, 6)
		require.Empty(t, stop())
	})
	t.Run("an outage still going on at the end lasts until then", func(t *testing.T) {
		ready, polls := fakeApiserver(func(n int64) bool { return n >= 3 })
		stop := watchApiserver(context.Background(), ready, every, nil)
		waitPolls(t, polls, 6)
		before := time.Now()
		outages := stop()
		require.Len(t, outages, 1)
		require.False(t, outages[0].To.Before(before))
	})
	t.Run("a cancelled session is not an outage", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ready, polls := fakeApiserver(func(int64) bool { return ctx.Err() != nil })
		stop := watchApiserver(ctx, ready, every, nil)
		waitPolls(t, polls, 2)
		cancel()
		time.Sleep(5 * every)
		require.Empty(t, stop())
	})
}
