package server

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestIncrementalEqualsFromScratch is the push engine's oracle: over random sequences of model
// changes (endpoint flaps, readiness, relabelling, rule edits, services added), after every push
// each stream's desired config is byte for byte what a translation from scratch of the same
// snapshot gives. A dependency the incremental path misses shows up here as a difference.
func TestIncrementalEqualsFromScratch(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			store := model.NewStore("cluster.local", time.Now)
			source := memory.New(store, "test")
			part := modeltest.Mesh(12, 3)
			source.Replace(part)
			s := New(store, Options{})
			proxies := []*model.Proxy{
				proxyOf(t, "sidecar~10.200.0.1~a.ns-0~ns-0.svc.cluster.local", map[string]string{"app": "a"}),
				proxyOf(t, "sidecar~10.200.0.2~b.ns-0~ns-0.svc.cluster.local", map[string]string{"app": "b"}),
				proxyOf(t, "sidecar~"+part.Endpoints[0].Address+"~svc-0-x.ns-0~ns-0.svc.cluster.local", part.Endpoints[0].Labels),
				proxyOf(t, "sidecar~10.200.0.3~c.ns-3~ns-3.svc.cluster.local", nil),
				proxyOf(t, "router~10.200.0.4~gw.ns-1~ns-1.svc.cluster.local", map[string]string{"istio": "ingressgateway"}),
			}
			conns := attach(s, proxies...)
			s.push(false)
			for step := range 30 {
				kind := randomChange(rng, source)
				s.push(false)
				if diffs := differencesFromScratch(s, conns); len(diffs) > 0 {
					t.Fatalf("step %d (%s): %s", step, kind, diffs[0])
				}
			}
		})
	}
}

// attach connects the proxies to the server as streams subscribed to everything.
func attach(s *Server, proxies ...*model.Proxy) []*conn {
	var conns []*conn
	for i, p := range proxies {
		c := newConn(int64(i+1), p, true, time.Time{})
		for typ := range numTypes {
			c.subs[typ] = newSubscription(nil)
		}
		s.conns[c.id] = c
		conns = append(conns, c)
	}
	return conns
}

// differencesFromScratch says where a stream's desired config differs from a translation from
// scratch of the server's snapshot.
func differencesFromScratch(s *Server, conns []*conn) []string {
	snap := s.snapshot.Load()
	var out []string
	for _, c := range conns {
		want := desiredSets(translate.ForProxy(snap, c.proxy, nil), time.Time{}, nil)
		for typ := range numTypes {
			if got := c.desired[typ]; got.version != want[typ].version {
				out = append(out, fmt.Sprintf("%s %s: incremental version %s, from scratch %s (%d vs %d resources)",
					c.proxy.ID, typeShort[typ], got.version, want[typ].version, len(got.entries), len(want[typ].entries)))
			}
		}
	}
	return out
}

func proxyOf(t *testing.T, id string, labels map[string]string) *model.Proxy {
	t.Helper()
	p, err := model.ParseNodeID(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = labels
	return p
}

// randomChange makes one change of the kinds a living mesh sees and says which.
func randomChange(rng *rand.Rand, source *memory.Source) string {
	kinds := []string{"endpoint added", "endpoint removed", "readiness", "relabel", "zone", "weights", "service added", "subset selector",
		"sidecar", "sidecar removed", "mesh policy", "rule removed", "rule added"}
	kind := kinds[rng.IntN(len(kinds))]
	source.Update(func(p *model.Part) {
		switch kind {
		case "endpoint added":
			e := *p.Endpoints[rng.IntN(len(p.Endpoints))]
			e.Address = fmt.Sprintf("10.250.%d.%d", rng.IntN(250), rng.IntN(250))
			p.Endpoints = append(p.Endpoints, &e)
		case "endpoint removed":
			i := rng.IntN(len(p.Endpoints))
			p.Endpoints = append(p.Endpoints[:i:i], p.Endpoints[i+1:]...)
		case "readiness", "relabel", "zone":
			i := rng.IntN(len(p.Endpoints))
			e := *p.Endpoints[i]
			switch kind {
			case "readiness":
				e.Ready = !e.Ready
			case "relabel":
				e.Labels = map[string]string{"app": e.Labels["app"], "version": fmt.Sprintf("v%d", 1+rng.IntN(3))}
			default:
				e.Locality.Zone = fmt.Sprintf("eu-%d", rng.IntN(3))
			}
			eps := append([]*model.Endpoint(nil), p.Endpoints...)
			eps[i] = &e
			p.Endpoints = eps
		case "weights":
			i := rng.IntN(len(p.VirtualServices))
			vs := *p.VirtualServices[i]
			spec := *vs.Spec
			w := int32(rng.IntN(101))
			spec.HTTP = []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
				{Destination: &networking.Destination{Host: spec.Hosts[0], Subset: "v1"}, Weight: w},
				{Destination: &networking.Destination{Host: spec.Hosts[0], Subset: "v2"}, Weight: 100 - w}}}}
			vs.Spec = &spec
			vss := append([]*model.VirtualService(nil), p.VirtualServices...)
			vss[i] = &vs
			p.VirtualServices = vss
		case "rule removed":
			if len(p.VirtualServices) > 0 {
				i := rng.IntN(len(p.VirtualServices))
				p.VirtualServices = append(p.VirtualServices[:i:i], p.VirtualServices[i+1:]...)
			}
		case "rule added":
			svc := p.Services[rng.IntN(len(p.Services))]
			vs := &model.VirtualService{Meta: model.Meta{Kind: model.KindVirtualService, Name: fmt.Sprint("added-", rng.IntN(3)), Namespace: svc.Namespace},
				Spec: &networking.VirtualService{Hosts: []string{svc.Hostname}, HTTP: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
					{Destination: &networking.Destination{Host: svc.Hostname, Subset: "v2"}}}}}}}
			p.VirtualServices = append(slices.DeleteFunc(slices.Clone(p.VirtualServices), func(o *model.VirtualService) bool { return o.Key() == vs.Key() }), vs)
		case "service added":
			n := len(p.Services)
			host := model.ServiceHostname(fmt.Sprintf("new-%d", n), "ns-0", "cluster.local")
			p.Services = append(p.Services, &model.Service{Hostname: host, Name: fmt.Sprintf("new-%d", n), Namespace: "ns-0",
				Address: fmt.Sprintf("10.97.0.%d", n), Ports: []model.Port{{Name: "http", Port: 8080, Protocol: model.ProtocolHTTP}}})
			p.Endpoints = append(p.Endpoints, &model.Endpoint{Service: host, ServicePort: "http", Address: fmt.Sprintf("10.251.0.%d", n), Port: 8080, Ready: true})
		case "subset selector":
			i := rng.IntN(len(p.DestinationRules))
			dr := *p.DestinationRules[i]
			spec := *dr.Spec
			spec.Subsets = []*networking.Subset{{Name: "v1", Labels: map[string]string{"version": fmt.Sprintf("v%d", 1+rng.IntN(3))}},
				{Name: "v2", Labels: map[string]string{"version": "v2"}}}
			dr.Spec = &spec
			drs := append([]*model.DestinationRule(nil), p.DestinationRules...)
			drs[i] = &dr
			p.DestinationRules = drs
		case "sidecar":
			ns := []string{"ns-0", "ns-3", "istio-system"}[rng.IntN(3)]
			spec := &networking.Sidecar{Egress: []*networking.IstioEgressListener{{Hosts: []string{
				[]string{"./*", "ns-1/*", "*/svc-2.ns-2.svc.cluster.local", "~/*"}[rng.IntN(4)], "ns-" + fmt.Sprint(rng.IntN(10)) + "/*"}}}}
			if rng.IntN(2) == 0 {
				spec.Egress[0].Port = &networking.SidecarPort{Number: 8080, Protocol: "HTTP", Name: "http"}
			}
			if rng.IntN(3) == 0 {
				spec.WorkloadSelector = &networking.SidecarWorkloadSelector{Labels: map[string]string{"app": "a"}}
			}
			if rng.IntN(3) == 0 {
				spec.OutboundTrafficPolicy = &networking.OutboundTrafficPolicy{Mode: model.RegistryOnly}
			}
			sc := &model.SidecarResource{Meta: model.Meta{Kind: model.KindSidecar, Name: fmt.Sprint("sc-", rng.IntN(2)), Namespace: ns}, Spec: spec}
			p.Sidecars = append(slices.DeleteFunc(slices.Clone(p.Sidecars), func(o *model.SidecarResource) bool { return o.Key() == sc.Key() }), sc)
		case "sidecar removed":
			if len(p.Sidecars) > 0 {
				i := rng.IntN(len(p.Sidecars))
				p.Sidecars = append(p.Sidecars[:i:i], p.Sidecars[i+1:]...)
			}
		case "mesh policy":
			mesh := model.DefaultMeshConfig()
			if p.Mesh == nil || p.Mesh.OutboundTrafficPolicy == model.AllowAny {
				mesh.OutboundTrafficPolicy = model.RegistryOnly
			}
			p.Mesh = mesh
		}
	})
	return kind
}
