package server

import (
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
)

// A stream that closes while a push is working on it leaves nothing behind: the push finishes with
// a stream no one can reach, and the same node reconnecting starts from a full config of its own
// (before, the closed node was republished into the watch cache, leaked, and could hand its
// successor a cut-down cluster list).
func TestStreamClosedDuringAPushLeavesNothing(t *testing.T) {
	store := model.NewStore("cluster.local", time.Now)
	source := memory.New(store, "test")
	source.Replace(modeltest.Mesh(10, 2))
	s := New(store, Options{})
	s.push(false)
	node := &corev3.Node{Id: "sidecar~10.200.0.1~a.ns-0~ns-0.svc.cluster.local"}
	old, err := s.openConn(node, true, false)
	if err != nil {
		t.Fatal(err)
	}
	conns := s.connList() // what a push works through
	s.closeConn(old)      // the stream goes meanwhile
	source.Update(func(p *model.Part) { p.Endpoints = p.Endpoints[1:] })
	snap := store.Snapshot()
	cache := newTranslationCache(snap, s.warnings, s.opts.Metrics, nil, model.Diff(s.snapshot.Load(), snap))
	for _, c := range conns {
		s.refresh(c, snap, cache)
	}
	if n := len(s.SyncStatus()); n != 0 {
		t.Fatalf("%d streams listed after the only one closed", n)
	}
	fresh, err := s.openConn(node, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.generation != 0 || fresh.holdsSet[cds].version != "" {
		t.Fatal("a reconnecting node inherited the closed stream's state")
	}
}
