package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

// fakeApiserver answers poll n (from 1) with the status code(n) says (0: no answer).
func fakeApiserver(code func(n int64) int) (ready func(context.Context) (int, error), polls *atomic.Int64) {
	polls = &atomic.Int64{}
	return func(context.Context) (int, error) {
		switch c := code(polls.Add(1)); c {
		case 200:
			return c, nil
		case 0:
			return 0, errors.New("connection refused")
		default:
			return c, fmt.Errorf("/readyz answered %d", c)
		}
	}, polls
}

// down is a fake apiserver without an answer while when(n) holds, 200 otherwise.
func down(when func(n int64) bool) func(int64) int {
	return func(n int64) int {
		if when(n) {
			return 0
		}
		return 200
	}
}

func waitPolls(t *testing.T, polls *atomic.Int64, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return polls.Load() >= n }, 5*time.Second, time.Millisecond)
}

func TestWatchApiserver(t *testing.T) {
	const every = 5 * time.Millisecond
	t.Run("an outage of several polls is recorded from the last answer to the next", func(t *testing.T) {
		var out bytes.Buffer
		ready, polls := fakeApiserver(down(func(n int64) bool { return n >= 3 && n <= 6 }))
		start := time.Now()
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every, Log: &phase.Recorder{Out: &out}})
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
		ready, polls := fakeApiserver(down(func(n int64) bool { return n == 3 }))
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every})
		waitPolls(t, polls, 6)
		require.Empty(t, stop())
	})
	t.Run("an outage still going on at the end lasts until then", func(t *testing.T) {
		ready, polls := fakeApiserver(down(func(n int64) bool { return n >= 3 }))
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every})
		waitPolls(t, polls, 6)
		before := time.Now()
		outages := stop()
		require.Len(t, outages, 1)
		require.False(t, outages[0].To.Before(before))
	})
	t.Run("a restarted apiserver's 403s before its RBAC roles are bootstrapped are an outage", func(t *testing.T) {
		ready, polls := fakeApiserver(func(n int64) int {
			switch {
			case n == 3 || n == 4:
				return 0
			case n >= 5 && n <= 7:
				return 403
			}
			return 200
		})
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every})
		waitPolls(t, polls, 10)
		outages := stop()
		require.Len(t, outages, 1)
		require.GreaterOrEqual(t, outages[0].To.Sub(outages[0].From), 5*every, "from the last 200 to the next")
	})
	t.Run("a user who may not read /readyz: any answer is the apiserver serving", func(t *testing.T) {
		ready, polls := fakeApiserver(func(n int64) int {
			if n == 4 || n == 5 {
				return 0
			}
			return 403
		})
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every})
		waitPolls(t, polls, 8)
		require.Len(t, stop(), 1, "403s are answers, the two without are the outage")
	})
	t.Run("an apiserver away for GiveUpAfter gives up once, saying since when", func(t *testing.T) {
		ready, polls := fakeApiserver(down(func(n int64) bool { return n >= 3 }))
		var gaveUp []error
		var mu sync.Mutex
		stop := watchApiserver(context.Background(), watchInput{Ready: ready, Every: every, GiveUpAfter: 10 * every,
			GiveUp: func(err error) { mu.Lock(); gaveUp = append(gaveUp, err); mu.Unlock() }})
		waitPolls(t, polls, 30)
		require.Len(t, stop(), 1)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, gaveUp, 1)
		require.ErrorContains(t, gaveUp[0], "the apiserver has not answered for")
		require.ErrorContains(t, gaveUp[0], "its cluster is gone")
	})
	t.Run("a cancelled session is not an outage", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ready, polls := fakeApiserver(down(func(int64) bool { return ctx.Err() != nil }))
		stop := watchApiserver(ctx, watchInput{Ready: ready, Every: every})
		waitPolls(t, polls, 2)
		cancel()
		time.Sleep(5 * every)
		require.Empty(t, stop())
	})
}
