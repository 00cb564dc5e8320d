package translate_test

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

var sink *translate.Resources

// BenchmarkSidecar is the cost of one Envoy sidecar's full config for 1,000 services × 10 endpoints.
func BenchmarkSidecar(b *testing.B) {
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, modeltest.Mesh(1000, 10))
	proxy, _ := model.ParseNodeID("sidecar~10.1.0.1~client.ns-0~ns-0.svc.cluster.local")
	b.ReportAllocs()
	for b.Loop() {
		sink = translate.ForProxy(snap, proxy, nil)
	}
	b.ReportMetric(float64(len(sink.Clusters)), "clusters")
}

// BenchmarkProxyless is the cost of one gRPC client's config (one listener) in the same mesh.
func BenchmarkProxyless(b *testing.B) {
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, modeltest.Mesh(1000, 10))
	proxy, _ := model.ParseNodeID("sidecar~10.1.0.1~client.ns-0~ns-0.svc.cluster.local")
	proxy.Proxyless = true
	names := []string{"svc-7.ns-7.svc.cluster.local:8080"}
	b.ReportAllocs()
	for b.Loop() {
		sink = translate.ForProxy(snap, proxy, names)
	}
}

// BenchmarkSnapshot is the cost of building the indexed model snapshot itself.
func BenchmarkSnapshot(b *testing.B) {
	part := modeltest.Mesh(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		_ = model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	}
}
