package main

import (
	"slices"
	"testing"
)

// TestHarnessFatalRunsCleanupsInReverse: a Fatal in the helpers ends the run, not the process, and
// every cleanup registered so far runs, last first, as in a test.
func TestHarnessFatalRunsCleanupsInReverse(t *testing.T) {
	h := newHarness(t.TempDir())
	var order []int
	reached := false
	ok := h.run(func() {
		h.Cleanup(func() { order = append(order, 1) })
		h.Cleanup(func() { order = append(order, 2) })
		h.Fatalf("stop here: %d", 42)
		reached = true
	})
	if ok || reached || !h.Failed() {
		t.Fatalf("run = %v, went on after Fatal = %v, Failed = %v; want false, false, true", ok, reached, h.Failed())
	}
	if !slices.Equal(order, []int{2, 1}) {
		t.Fatalf("cleanups ran in order %v, want [2 1]", order)
	}
	if h.Context().Err() == nil {
		t.Fatal("the run's context is still live after the run")
	}
}

// TestHarnessPanicStillCleansUp: a panic that is not a Fatal is re-raised, after the cleanups ran,
// so no child process outlives a bug.
func TestHarnessPanicStillCleansUp(t *testing.T) {
	h := newHarness(t.TempDir())
	cleaned := false
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the original panic", r)
		}
		if !cleaned {
			t.Fatal("cleanup did not run before the panic went on")
		}
	}()
	h.run(func() {
		h.Cleanup(func() { cleaned = true })
		panic("boom")
	})
}

func TestHarnessTempDirsAreKeptApart(t *testing.T) {
	h := newHarness(t.TempDir())
	a, b := h.TempDir(), h.TempDir()
	if a == b {
		t.Fatalf("two TempDir calls gave %s", a)
	}
}
