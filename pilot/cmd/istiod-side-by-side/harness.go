package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// harness lets the test helpers (kubetest, kubefixture, pilot/e2e), which take a testing.TB, run in
// a command: it logs to stderr, keeps temp dirs under one directory that outlives the run (logs),
// and turns Fatal into a panic that run recovers from, after which the cleanups stop every process.
// The embedded interface is never set; only the methods below are called.
type harness struct {
	testing.TB
	dir      string
	tmp      int
	cleanups []func()
	failed   bool
	ctx      context.Context
	cancel   context.CancelFunc
}

// errFatal is what harness panics with on Fatal.
type errFatal struct{ msg string }

func newHarness(dir string) *harness {
	ctx, cancel := context.WithCancel(context.Background())
	return &harness{dir: dir, ctx: ctx, cancel: cancel}
}

// run calls f, recovering from a Fatal, then runs the cleanups in reverse order; it reports
// whether f finished without a failure.
func (h *harness) run(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, fatal := r.(errFatal); !fatal {
				h.finish()
				panic(r)
			}
		}
		h.finish()
		ok = !h.failed
	}()
	f()
	return true
}

func (h *harness) finish() {
	h.cancel()
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
}

func (h *harness) Helper()                    {}
func (h *harness) Name() string               { return "istiod-side-by-side" }
func (h *harness) Context() context.Context   { return h.ctx }
func (h *harness) Cleanup(f func())           { h.cleanups = append(h.cleanups, f) }
func (h *harness) Failed() bool               { return h.failed }
func (h *harness) Log(args ...any)            { h.print(fmt.Sprint(args...)) }
func (h *harness) Logf(f string, args ...any) { h.print(fmt.Sprintf(f, args...)) }
func (h *harness) Error(args ...any)          { h.failed = true; h.Log(args...) }
func (h *harness) Errorf(f string, a ...any)  { h.failed = true; h.Logf(f, a...) }
func (h *harness) Fatal(args ...any)          { h.fatal(fmt.Sprint(args...)) }
func (h *harness) Fatalf(f string, a ...any)  { h.fatal(fmt.Sprintf(f, a...)) }
func (h *harness) Skip(args ...any)           { h.fatal(fmt.Sprint(args...)) }
func (h *harness) Skipf(f string, a ...any)   { h.fatal(fmt.Sprintf(f, a...)) }

func (h *harness) fatal(msg string) {
	h.failed = true
	h.print(msg)
	panic(errFatal{msg})
}

func (h *harness) print(msg string) { fmt.Fprintln(os.Stderr, msg) }

// TempDir returns a new directory under the run's directory; unlike a test's, it is kept.
func (h *harness) TempDir() string {
	h.tmp++
	dir := filepath.Join(h.dir, fmt.Sprintf("%03d", h.tmp))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.Fatal(err)
	}
	return dir
}
