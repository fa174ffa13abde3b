package main

import (
	"bytes"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSignalsCancelWithTheirName: SIGTERM (a CI system stopping the job) cancels like
// Ctrl-C and is recorded as "terminated"; a cleanup that outlasts its limit exits 1.
func TestSignalsCancelWithTheirName(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{syscall.SIGTERM: "terminated", syscall.SIGINT: "interrupted"} {
		var stderr lockedBuffer
		exited := make(chan int, 1)
		ctx, sigs := signalContext(&stderr, 50*time.Millisecond, func(code int) { exited <- code })
		require.Empty(t, stopReason(ctx), "no signal, no reason")
		sigs <- sig
		<-ctx.Done()
		require.Equal(t, want, stopReason(ctx))
		select {
		case code := <-exited:
			require.Equal(t, 1, code)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no exit after the cleanup limit", want)
		}
		require.Contains(t, stderr.String(), "satoken: "+want+": cleaning up (at most 50ms")
		require.Contains(t, stderr.String(), "cleanup did not finish within 50ms")
	}
}
