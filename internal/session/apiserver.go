package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Polling the apiserver while a job runs: an outage is two failed polls or more in a row,
// so one slow answer on a busy machine is not one. An apiserver that has not answered for
// GiveUpAfter is gone with its cluster (a stopped engine, a deleted node): the session ends
// rather than wait out its deadline. A restart takes well under a minute.
const (
	pollApiserverEvery = 2 * time.Second
	pollApiserverFor   = 5 * time.Second
	outageAfterFails   = 2
	GiveUpAfter        = 3 * time.Minute
)

// watchInput is what watchApiserver polls and whom it tells.
type watchInput struct {
	Ready       func(context.Context) (int, error)
	Every       time.Duration
	GiveUpAfter time.Duration
	// GiveUp is called once, when the apiserver has not answered for GiveUpAfter.
	GiveUp func(error)
	Log    *phase.Recorder
}

// availability is what satoken's own polling saw of the apiserver: the verdicts must not
// be built on a span in which it answered nobody (a missing call is not a 401, and not a
// success), and audit evidence has no record of such a span at all.
type availability struct {
	watchInput
	// anyAnswer: the first answer was not 200 (a user who may not read /readyz), so any
	// answer below 500 counts as available. Else only 200 does: a restarted apiserver
	// answers 403 until its RBAC roles are bootstrapped, and refuses tokens meanwhile.
	anyAnswer, baseline bool

	mu      sync.Mutex
	outages []verdict.Outage
	lastOK  time.Time // the last answer
	fails   int       // failed polls since
	gaveUp  bool
}

// watchApiserver polls in.Ready until stop is called; stop returns the outages seen, one
// still going on at the end included.
func watchApiserver(ctx context.Context, in watchInput) (stop func() []verdict.Outage) {
	a := &availability{watchInput: in, lastOK: time.Now()}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(in.Every)
		defer t.Stop()
		for {
			a.poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() []verdict.Outage {
		cancel()
		<-done
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.fails >= outageAfterFails {
			a.outages = append(a.outages, verdict.Outage{From: a.lastOK, To: time.Now()})
		}
		return a.outages
	}
}

func (a *availability) poll(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, pollApiserverFor)
	code, err := a.Ready(pctx)
	cancel()
	if ctx.Err() != nil {
		return // stopped while asking: not the apiserver's doing
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.baseline && code != 0 {
		a.baseline, a.anyAnswer = true, code != 200
	}
	if a.anyAnswer && code != 0 && code < 500 {
		err = nil
	}
	if err != nil {
		a.fails++
		if a.fails == outageAfterFails {
			a.Log.Printf("the apiserver has not answered since %s (%v): verdicts will not be built on this gap", a.lastOK.Format(time.TimeOnly), err)
		}
		if down := now.Sub(a.lastOK); !a.gaveUp && a.GiveUp != nil && down >= a.GiveUpAfter {
			a.gaveUp = true
			a.GiveUp(fmt.Errorf("the apiserver has not answered for %s (since %s; last: %v): its cluster is gone (is the docker engine running?)",
				down.Round(time.Second), a.lastOK.Format(time.TimeOnly), err))
		}
		return
	}
	if a.fails >= outageAfterFails {
		a.outages = append(a.outages, verdict.Outage{From: a.lastOK, To: now})
		a.Log.Printf("the apiserver answers again after %s (unavailable from %s to %s)", now.Sub(a.lastOK).Round(time.Second),
			a.lastOK.Format(time.TimeOnly), now.Format(time.TimeOnly))
	}
	a.fails, a.lastOK = 0, now
}
