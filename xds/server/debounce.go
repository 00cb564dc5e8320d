package server

import (
	"time"

	"k8s.io/utils/clock"
)

// debouncer turns a burst of model changes into one push: it fires once the changes have been quiet
// for the quiet period, or once the first of them has waited maxDelay, whichever is sooner.
type debouncer struct {
	clock    clock.Clock
	quiet    time.Duration
	maxDelay time.Duration

	timer   clock.Timer
	first   time.Time
	pending bool
}

func newDebouncer(clk clock.Clock, quiet, maxDelay time.Duration) *debouncer {
	return &debouncer{clock: clk, quiet: quiet, maxDelay: max(maxDelay, quiet)}
}

// event records a change.
func (d *debouncer) event() {
	now := d.clock.Now()
	if !d.pending {
		d.pending, d.first = true, now
	}
	wait := min(d.quiet, max(d.first.Add(d.maxDelay).Sub(now), 0))
	if d.timer == nil {
		d.timer = d.clock.NewTimer(wait)
		return
	}
	d.timer.Stop()
	d.timer.Reset(wait)
}

// fire delivers when a push is due; nil (never) while no change is pending. After it delivers, the
// debouncer is idle again.
func (d *debouncer) fire() <-chan time.Time {
	if !d.pending {
		return nil
	}
	return d.timer.C()
}

// fired marks the pending push done.
func (d *debouncer) fired() { d.pending = false }
