package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
)

// A Delta client and a SotW client connected side by side end up holding the same resources.
func TestDeltaAndSotWClientsHoldTheSame(t *testing.T) {
	f := start(t, bookinfo())
	sotw := f.dial(adsc.Options{NodeID: "sidecar~10.1.0.11~a.default~default.svc.cluster.local"})
	delta := f.dial(adsc.Options{NodeID: "sidecar~10.1.0.12~b.default~default.svc.cluster.local", Delta: true})
	settle(t, sotw, allTypes...)
	settle(t, delta, allTypes...)
	f.source.Update(func(p *model.Part) {
		p.Services = append(p.Services, service("ratings", 9081))
		p.Endpoints = append(p.Endpoints, endpoint("ratings", "10.1.0.40", nil))
	})
	settle(t, sotw, resourcev3.ClusterType, resourcev3.ListenerType)
	settle(t, delta, resourcev3.ClusterType, resourcev3.ListenerType)
	for _, typ := range allTypes {
		a, b := keys(sotw.Resources(typ)), keys(delta.Resources(typ))
		if !slices.Equal(a, b) {
			t.Errorf("%s: SotW holds %v, Delta %v", short(typ), a, b)
		}
	}
}

// Delta's point: a change sends what changed. A VirtualService edit sends one route config; a
// service that goes away is named in removed_resources, and the client drops it.
func TestDeltaSendsWhatChanged(t *testing.T) {
	f := start(t, bookinfo())
	c := f.dial(adsc.Options{Delta: true})
	settle(t, c, allTypes...)

	f.source.Update(func(p *model.Part) {
		p.VirtualServices = []*model.VirtualService{{
			Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
			Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
				Timeout: networking.NewDuration(3 * time.Second),
				Route:   []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews"}}},
			}}},
		}}
	})
	got := settle(t, c, resourcev3.RouteType)
	if len(got) != 1 || len(got[0].Names) != 1 || got[0].Names[0] != "9080" {
		t.Fatalf("a VirtualService edit sent %v, want one route config", describeNames(got))
	}

	f.source.Update(func(p *model.Part) {
		p.Services = p.Services[:1] // reviews goes
		p.Endpoints = p.Endpoints[:1]
		p.VirtualServices = nil
	})
	got = settle(t, c, resourcev3.ClusterType)
	var removed []string
	for _, r := range got {
		if r.TypeURL == resourcev3.ClusterType {
			removed = append(removed, r.Removed...)
		}
	}
	if !slices.Contains(removed, "outbound|9080||reviews.default.svc.cluster.local") {
		t.Fatalf("the removed service's cluster was not named in removed_resources: %v", describeNames(got))
	}
	if _, ok := c.Resources(resourcev3.ClusterType)["outbound|9080||reviews.default.svc.cluster.local"]; ok {
		t.Fatal("the client still holds the removed cluster")
	}
}

// A Delta client that reconnects saying what it has is sent nothing it already has.
func TestDeltaReconnectResendsNothing(t *testing.T) {
	f := start(t, bookinfo())
	ctx, cancel := context.WithCancel(context.Background())
	c, err := adsc.Dial(ctx, f.conn, adsc.Options{NodeID: sidecarID, Delta: true})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, c, allTypes...)
	cancel()
	drain(c)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if err := c.Reconnect(ctx2, f.conn); err != nil {
		t.Fatal(err)
	}
	for _, r := range settle(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType) {
		if len(r.Names) > 0 || len(r.Removed) > 0 {
			t.Errorf("a reconnect with initial_resource_versions got %s %v, removed %v", short(r.TypeURL), r.Names, r.Removed)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
