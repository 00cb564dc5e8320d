package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
)

// BenchmarkEndpointChange is the push that follows one endpoint of a 1,000-service mesh changing,
// with 500 connected sidecars of 50 kinds (10 namespaces × 5 zones): the snapshot, the diff, and
// every stream moved to its new config. "fast" is the endpoint fast path; "full" the same change
// pushed as a config change, translating every view from scratch, which is what every change cost
// before the fast path.
func BenchmarkEndpointChange(b *testing.B) {
	for _, mode := range []string{"fast", "full"} {
		b.Run(mode, func(b *testing.B) {
			s, source, store := benchServer(b, modeltest.Mesh(1000, 10))
			s.push(false)
			b.ReportAllocs()
			ready := false
			for b.Loop() {
				source.Update(func(p *model.Part) {
					e := *p.Endpoints[0]
					e.Ready = ready
					eps := append([]*model.Endpoint(nil), p.Endpoints...)
					eps[0] = &e
					p.Endpoints = eps
				})
				ready = !ready
				snap := store.Snapshot()
				change := model.Diff(s.snapshot.Load(), snap)
				if mode == "full" {
					change.Config = true
				}
				s.publish(snap, change, time.Now())
			}
		})
	}
}

// benchServer serves part to 500 connected sidecars of 50 kinds: 10 namespaces (ns-0 to ns-9) ×
// 5 zones, every type subscribed; nothing is pushed yet.
func benchServer(b *testing.B, part model.Part) (*Server, *memory.Source, *model.Store) {
	b.Helper()
	store := model.NewStore("cluster.local", time.Now)
	source := memory.New(store, "bench")
	source.Replace(part)
	s := New(store, Options{})
	for i := range 500 {
		p, err := model.ParseNodeID(fmt.Sprintf("sidecar~10.200.%d.%d~p%d.ns-%d~ns-%d.svc.cluster.local", i/250, i%250, i, i%10, i%10))
		if err != nil {
			b.Fatal(err)
		}
		p.Locality = model.Locality{Region: "eu", Zone: fmt.Sprintf("eu-%d", i/10%5)}
		c := newConn(int64(i+1), p, true, time.Time{})
		for t := range numTypes {
			c.subs[t] = newSubscription(nil)
		}
		s.conns[c.id] = c
	}
	return s, source, store
}
