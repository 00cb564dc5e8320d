package server

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
)

// BenchmarkSidecarPush is what one push costs per kind of sidecar in a mesh of 1,000 services × 10
// endpoints with routing rules: translation, content hashing, and the make-before-break decision.
// Sidecars of the same kind (namespace, labels, interception) share the translation.
func BenchmarkSidecarPush(b *testing.B) {
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, modeltest.Mesh(1000, 10))
	proxy, _ := model.ParseNodeID("sidecar~10.1.0.1~client.ns-0~ns-0.svc.cluster.local")
	b.ReportAllocs()
	for b.Loop() {
		n := &nodeState{id: proxy.ID, proxy: proxy, streams: map[int64]*streamState{1: {}}}
		for t := range numTypes {
			n.streams[1].subs[t] = newSubscription(nil)
		}
		tr := newTranslationCache(snap.Generation).get(snap, proxy, nil)
		n.desired, n.generation = tr.sets, snap.Generation
		_ = n.next(time.Time{}, time.Second)
	}
}
