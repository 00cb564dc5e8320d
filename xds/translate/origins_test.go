package translate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestOriginsNameTheRulesBehindEachResource: a subset cluster comes from its DestinationRule, the
// route config of a port from the VirtualServices routing on it (and the services whose default
// routes it holds), for Envoy sidecars and gRPC clients alike; every outbound cluster has an origin.
func TestOriginsNameTheRulesBehindEachResource(t *testing.T) {
	part := modeltest.Mesh(3, 2)
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	vs, dr := part.VirtualServices[0].Meta, part.DestinationRules[0].Meta
	host := "svc-0.ns-0.svc.cluster.local"
	for _, tc := range []struct {
		id        string
		proxyless bool
		listeners []string
		route     string
	}{
		{id: "sidecar~10.200.0.1~a.ns-0~ns-0.svc.cluster.local", route: "8080"},
		{id: "sidecar~10.200.0.2~b.ns-0~ns-0.svc.cluster.local", proxyless: true, listeners: []string{host + ":8080"}, route: host + ":8080"},
	} {
		proxy, _ := model.ParseNodeID(tc.id)
		proxy.Proxyless = tc.proxyless
		origins := translate.OriginsOf(snap, proxy, tc.listeners)
		subset := translate.ResourceRef{Type: translate.ClusterResource, Name: translate.ClusterName(8080, "v1", host)}
		if got := origins[subset]; !slices.Contains(got, dr) {
			t.Errorf("proxyless %v: origins of %s are %v, want its DestinationRule %s", tc.proxyless, subset.Name, got, dr.Key())
		}
		route := translate.ResourceRef{Type: translate.RouteResource, Name: tc.route}
		if got := origins[route]; !slices.Contains(got, vs) {
			t.Errorf("proxyless %v: origins of route config %s are %v, want VirtualService %s", tc.proxyless, route.Name, got, vs.Key())
		}
		res := translate.ForProxy(snap, proxy, tc.listeners)
		for _, c := range res.Clusters {
			if ref := (translate.ResourceRef{Type: translate.ClusterResource, Name: c.Name}); len(origins[ref]) == 0 && strings.HasPrefix(c.Name, "outbound|") {
				t.Errorf("proxyless %v: cluster %s has no origin", tc.proxyless, c.Name)
			}
		}
	}
}
