package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
)

// An endpoint change to one service of a large mesh reaches every Envoy as one EDS response carrying
// that service's assignment alone, after the short endpoint debounce; no CDS, LDS or RDS response.
func TestEndpointChangeSendsOnlyItsEndpoints(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := startWith(t, modeltest.Mesh(50, 3), server.Options{Debounce: time.Hour, MaxDelay: time.Hour, StageTimeout: time.Minute})
		f.delta = delta
		var clients []*adsc.Client
		for i := range 3 {
			c := f.dial(adsc.Options{NodeID: fmt.Sprintf("sidecar~10.200.0.%d~p%d.ns-0~ns-0.svc.cluster.local", i, i)})
			clients = append(clients, c)
		}
		// The config debounce is an hour: only the startup push (which waits for sync, not debounce)
		// and the endpoint fast path can send anything in this test.
		for _, c := range clients {
			settle(t, c, allTypes...)
		}
		f.source.Update(func(p *model.Part) {
			e := *p.Endpoints[0]
			e.Address = "10.250.0.1"
			p.Endpoints = append(p.Endpoints, &e)
		})
		for _, c := range clients {
			got := collect(t, c, resourcev3.EndpointType)
			// The new endpoint is a v1 pod: the service's assignment and its v1 subset's change.
			want := []string{"outbound|8080|v1|svc-0.ns-0.svc.cluster.local", "outbound|8080||svc-0.ns-0.svc.cluster.local"}
			if len(got) != 1 || !slices.Equal(got[0].Names, want) {
				t.Fatalf("an endpoint change of svc-0 sent %v, want EDS%v", describeNames(got), want)
			}
			quiet(t, c, "after the endpoint push")
			if n := len(c.Resources(resourcev3.EndpointType)); n < 150 {
				t.Fatalf("the client holds %d assignments after a partial response; it must keep the others", n)
			}
		}
	})
}

func describeNames(rs []adsc.Response) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s%v", short(r.TypeURL), r.Names)
	}
	return out
}

// A VirtualService edit translates each sidecar view's listeners and routes again, and shares its
// clusters and endpoint sets as they were (they read no VirtualService); the sidecars get RDS alone.
func TestVirtualServiceChangeTranslatesOnlyRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := startWith(t, modeltest.Mesh(50, 3), server.Options{StageTimeout: time.Minute, Metrics: server.NewMetrics(reg)})
	var clients []*adsc.Client
	for i := range 3 {
		clients = append(clients, f.dial(adsc.Options{NodeID: fmt.Sprintf("sidecar~10.200.0.%d~p%d.ns-%d~ns-%d.svc.cluster.local", i, i, i, i)}))
	}
	for _, c := range clients {
		settle(t, c, allTypes...)
	}
	before := translations(t, reg)
	f.source.Update(func(p *model.Part) {
		vs := *p.VirtualServices[0]
		spec := *vs.Spec
		spec.HTTP = slices.Clone(spec.HTTP)
		route := *spec.HTTP[len(spec.HTTP)-1]
		route.Timeout = networking.NewDuration(7 * time.Second)
		spec.HTTP[len(spec.HTTP)-1] = &route
		vs.Spec = &spec
		p.VirtualServices = append([]*model.VirtualService{&vs}, p.VirtualServices[1:]...)
	})
	for _, c := range clients {
		got := settle(t, c, resourcev3.RouteType)
		if ts := types(got); !slices.Equal(ts, []string{"RouteConfiguration"}) {
			t.Fatalf("a VirtualService edit sent %v, want RDS alone", describeNames(got))
		}
	}
	after := translations(t, reg)
	if after["full"] != before["full"] || after["routes"]-before["routes"] != 3 {
		t.Fatalf("view translations before %v, after %v: want 3 more of routes alone (one per namespace's view), no full one", before, after)
	}
}

// A proxy's inbound side is its own (it reads the endpoints at its address), so it is translated
// per proxy; endpoint changes elsewhere keep it, push after push. (Once, a kept side still named
// the generation it was made from, so every second endpoint push translated all of them again.)
func TestEndpointChangesElsewhereKeepEachInboundSide(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := startWith(t, modeltest.Mesh(20, 3), server.Options{StageTimeout: time.Minute, Metrics: server.NewMetrics(reg)})
	var clients []*adsc.Client
	for i := range 3 {
		clients = append(clients, f.dial(adsc.Options{NodeID: fmt.Sprintf("sidecar~10.200.0.%d~p%d.ns-0~ns-0.svc.cluster.local", i, i)}))
	}
	for _, c := range clients {
		settle(t, c, allTypes...)
	}
	connected := counter(t, reg, "minipilot_xds_inbound_translations_total")
	for i := range 4 {
		f.source.Update(func(p *model.Part) {
			e := *p.Endpoints[0]
			e.Address = fmt.Sprintf("10.250.0.%d", i)
			p.Endpoints = append(p.Endpoints, &e)
		})
		for _, c := range clients {
			collect(t, c, resourcev3.EndpointType)
		}
	}
	if after := counter(t, reg, "minipilot_xds_inbound_translations_total"); after != connected {
		t.Fatalf("inbound sides translated: %v once connected, %v after 4 endpoint changes elsewhere; want no more", connected, after)
	}
}

// counter reads a counter without labels.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// translations reads minipilot_xds_view_translations_total by how.
func translations(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "minipilot_xds_view_translations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// Convergence is measured from the change a push carries. An endpoint that flaps brings an earlier
// version back (versions name content), and its ACK was once measured from the change that first
// made that version: a readiness flap an hour later recorded an hour.
func TestConvergenceOfAFlapIsMeasuredFromItsOwnChange(t *testing.T) {
	reg := prometheus.NewRegistry()
	fake := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	f := startWith(t, bookinfo(), server.Options{Clock: fake, StageTimeout: time.Minute, Metrics: server.NewMetrics(reg)})
	c := f.dial(adsc.Options{})
	settle(t, c, allTypes...)
	flap := endpoint("reviews", "10.1.0.24", nil)
	for i := range 2 { // add it, then remove it: the second push's set has the first set's version
		fake.Step(time.Hour)
		f.source.Update(func(p *model.Part) {
			if i == 0 {
				p.Endpoints = append(p.Endpoints, flap)
			} else {
				p.Endpoints = p.Endpoints[:len(p.Endpoints)-1]
			}
		})
		waitFor(t, "the endpoint push", func() bool {
			fake.Step(100 * time.Millisecond) // past the endpoint debounce
			return strings.Contains(resourcesText(c, resourcev3.EndpointType), "10.1.0.24") == (i == 0)
		})
		settle(t, c)
	}
	if n, longest := convergence(t, reg, "eds"); n < 3 || longest > 10 {
		t.Fatalf("eds convergence: %v observations summing to %vs; want each of the 3 within seconds of its change", n, longest)
	}
}

// convergence reads minipilot_xds_convergence_seconds for one type: observations and their sum.
func convergence(t *testing.T, reg *prometheus.Registry, typ string) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "minipilot_xds_convergence_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == typ {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}
