package waits

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUntil(t *testing.T) {
	in := Input{What: "the thing ready", Every: time.Millisecond, Timeout: 30 * time.Millisecond}
	n := 0
	require.NoError(t, Until(context.Background(), in, func(context.Context) (bool, string, error) {
		n++
		return n == 3, "n=" + string(rune('0'+n)), nil
	}))

	err := Until(context.Background(), in, func(context.Context) (bool, string, error) { return false, "still pending", nil })
	require.ErrorIs(t, err, ErrTimeout)
	require.ErrorContains(t, err, "the thing ready: timed out after 30ms; last seen: still pending")

	boom := errors.New("boom")
	require.ErrorIs(t, Until(context.Background(), in, func(context.Context) (bool, string, error) { return false, "", boom }), boom)
}

// TestUntilCancelledSaysSo: a wait ended by Ctrl-C (the context's cause) says it was
// stopped and why, not that it timed out.
func TestUntilCancelledSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	in := Input{What: "pod a/b running", Every: time.Millisecond, Timeout: time.Hour}
	polls := 0
	err := Until(ctx, in, func(context.Context) (bool, string, error) {
		if polls++; polls == 2 {
			cancel(errors.New("interrupted"))
		}
		return false, "phase Pending", nil
	})
	require.NotErrorIs(t, err, ErrTimeout)
	require.ErrorContains(t, err, "stopped waiting for pod a/b running (interrupted); last seen: phase Pending")
	require.ErrorIs(t, err, context.Canceled, "the command prints the reason alone, as for every wait")
}

func TestScale(t *testing.T) {
	t.Setenv("SATOKEN_TIMEOUT_SCALE", "2.5")
	require.Equal(t, 5*time.Minute, Scale(2*time.Minute))
	t.Setenv("SATOKEN_TIMEOUT_SCALE", "nonsense")
	require.Equal(t, 2*time.Minute, Scale(2*time.Minute))
}
