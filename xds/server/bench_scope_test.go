package server

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// sidecarPerNamespace is a Sidecar in each of the mesh's namespaces importing only its own
// namespace and istio-system, as Istio recommends for large meshes.
func sidecarPerNamespace(namespaces int) []*model.SidecarResource {
	var out []*model.SidecarResource
	for i := range namespaces {
		ns := fmt.Sprintf("ns-%d", i)
		out = append(out, &model.SidecarResource{Meta: model.Meta{Kind: model.KindSidecar, Name: "default", Namespace: ns},
			Spec: &networking.Sidecar{Egress: []*networking.IstioEgressListener{{Hosts: []string{"./*", "istio-system/*"}}}}})
	}
	return out
}

// BenchmarkSidecarScope is what a Sidecar per namespace does to a 1,000-service mesh (10 namespaces)
// with 500 connected sidecars of 50 kinds: "connect" is the first push of every config (heap-MiB:
// what the server holds once it is out), "vs-edit" the push after svc-0's VirtualService changes.
// "all" has no Sidecar (every proxy sees every service); "scoped" a Sidecar per namespace.
func BenchmarkSidecarScope(b *testing.B) {
	for _, scoped := range []bool{false, true} {
		name := "all"
		if scoped {
			name = "scoped"
		}
		setup := func(b *testing.B) (*Server, *memory.Source, *model.Store) {
			part := modeltest.Mesh(1000, 10)
			if scoped {
				part.Sidecars = sidecarPerNamespace(10)
			}
			return benchServer(b, part)
		}
		b.Run(name+"/connect", func(b *testing.B) {
			b.ReportAllocs()
			var heap uint64
			for b.Loop() {
				s, _, _ := setup(b)
				s.push(false)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = ms.HeapAlloc
				runtime.KeepAlive(s)
			}
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		})
		b.Run(name+"/vs-edit", func(b *testing.B) {
			s, source, store := setup(b)
			s.push(false)
			b.ReportAllocs()
			weight := int32(10)
			for b.Loop() {
				source.Update(func(p *model.Part) {
					vs := *p.VirtualServices[0]
					spec := *vs.Spec
					spec.HTTP = []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
						{Destination: &networking.Destination{Host: spec.Hosts[0], Subset: "v1"}, Weight: weight},
						{Destination: &networking.Destination{Host: spec.Hosts[0], Subset: "v2"}, Weight: 100 - weight}}}}
					vs.Spec = &spec
					vss := append([]*model.VirtualService(nil), p.VirtualServices...)
					vss[0] = &vs
					p.VirtualServices = vss
				})
				weight = 100 - weight
				snap := store.Snapshot()
				s.publish(snap, model.Diff(s.snapshot.Load(), snap), time.Now())
			}
		})
	}
}

// TestSidecarScopeShrinksTheConfig: with a Sidecar per namespace a sidecar of ns-3 holds ns-3's
// services only (a tenth of the mesh), and svc-0's VirtualService edit changes nothing it holds.
func TestSidecarScopeShrinksTheConfig(t *testing.T) {
	part := modeltest.Mesh(100, 2)
	part.Sidecars = sidecarPerNamespace(10)
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	p, err := model.ParseNodeID("sidecar~10.200.0.1~p.ns-3~ns-3.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	res := translate.ForProxy(snap, p, nil)
	// 10 services of ns-3, each with its cluster and two subsets, then Passthrough, BlackHole and
	// the inbound passthrough.
	if len(res.Clusters) != 10*3+3 {
		t.Fatalf("want 33 clusters, got %d", len(res.Clusters))
	}
	for _, c := range res.Clusters {
		if c.Name == translate.ClusterName(8080, "", "svc-0.ns-0.svc.cluster.local") {
			t.Fatalf("svc-0 of ns-0 is out of scope")
		}
	}
}
