package server

import (
	"testing"
	"time"

	"go.uber.org/zap"

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
		c := newConn(1, proxy, true, time.Time{})
		for t := range numTypes {
			c.subs[t] = newSubscription(nil)
		}
		c.translate(snap, newTranslationCache(snap, newWarningLog(zap.NewNop(), nil), nil, model.Change{}))
		_ = c.next(time.Time{}, time.Second)
	}
}
