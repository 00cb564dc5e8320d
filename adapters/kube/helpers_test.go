package kube

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/minipilot/minipilot/model"
)

const waitTimeout = 20 * time.Second

// source is what the tests run: Platform or ConfigController.
type source interface {
	model.Source
	Run(ctx context.Context, reg *model.Registration) error
}

// run registers src with a fresh store and runs it until the test ends.
func run(t *testing.T, store *model.Store, name string, src source) {
	t.Helper()
	reg := store.Register(name, src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, reg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

func newStore() *model.Store { return model.NewStore("cluster.local", time.Now) }

func testLog(t *testing.T) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)) }

// eventually retries check until it passes or the wait times out.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", waitTimeout, what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endpointsOf lists "address:port ready cluster" of a service's endpoints on a port, sorted.
func endpointsOf(snap *model.Snapshot, host string, port model.Port) []string {
	var out []string
	for _, ep := range snap.Endpoints(host, port) {
		out = append(out, fmt.Sprintf("%s:%d ready=%t cluster=%s", ep.Address, ep.Port, ep.Ready, ep.Cluster))
	}
	return out
}
