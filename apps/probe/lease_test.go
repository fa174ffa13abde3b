//go:build !nolease

package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
)

func TestLeaseMode(t *testing.T) {
	saved := leaseTimings
	t.Cleanup(func() { leaseTimings = saved })
	leaseTimings.duration, leaseTimings.renewDeadline, leaseTimings.retryPeriod = 1500*time.Millisecond, time.Second, 200*time.Millisecond

	f := &fakeAPI{t: t, ns: "addon-lease", stop: make(chan struct{})}
	out := &lines{}
	returned := make(chan struct{})
	go func() {
		runLease(clientFor(t, f, out), f.ns, "probe", "addon-1", out.emit)
		close(returned)
	}()

	leader := func(event string) func([]probelog.Line) bool {
		return func(ls []probelog.Line) bool {
			for _, l := range ls {
				if l.Kind == probelog.KindLeader && l.Event == event && l.Identity == "addon-1" && l.Object == f.ns+"/probe" {
					return true
				}
			}
			return false
		}
	}
	out.waitFor(t, 10*time.Second, "started leading", leader("started"))
	got := out.waitFor(t, 10*time.Second, "two renewals", func(ls []probelog.Line) bool {
		puts := 0
		for _, l := range ls {
			if l.Method == http.MethodPut && l.Outcome == probelog.OutcomeOK {
				puts++
			}
		}
		return puts >= 2
	})
	if got[0].Method != http.MethodGet {
		t.Errorf("first request %s %s, want GET of the Lease", got[0].Method, got[0].Path)
	}

	// Renewals answered 401 for RenewDeadline lose the lease: runLease returns (main exits 1).
	f.deny()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatalf("still leading after 401s:\n%s", describe(out.snapshot()))
	}
	if !leader("stopped")(out.snapshot()) {
		t.Fatalf("no stopped line:\n%s", describe(out.snapshot()))
	}
	t.Logf("lines:\n%s", describe(out.snapshot()))
}
