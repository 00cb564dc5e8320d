package server

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func fired(d *debouncer) bool {
	select {
	case <-d.fire():
		d.fired()
		return true
	default:
		return false
	}
}

func TestDebounceWaitsForQuiet(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	d := newDebouncer(clk, 100*time.Millisecond, time.Second)
	if d.fire() != nil {
		t.Fatal("idle debouncer must not fire")
	}
	d.event()
	clk.Step(60 * time.Millisecond)
	d.event() // a second change restarts the quiet period
	clk.Step(60 * time.Millisecond)
	if fired(d) {
		t.Fatal("fired 60ms after the last change; the quiet period is 100ms")
	}
	clk.Step(40 * time.Millisecond)
	if !fired(d) {
		t.Fatal("did not fire after 100ms of quiet")
	}
	if d.fire() != nil {
		t.Fatal("fired twice for one burst")
	}
}

func TestDebounceMaxDelay(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	d := newDebouncer(clk, 100*time.Millisecond, 300*time.Millisecond)
	d.event()
	for range 5 { // a change every 80ms never leaves 100ms of quiet
		clk.Step(80 * time.Millisecond)
		if fired(d) {
			return // the 300ms cap was reached within the stream of changes
		}
		d.event()
	}
	t.Fatal("a steady stream of changes was held back past the maximum delay")
}
