package server

import (
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/minipilot/minipilot/model"
)

func routeTo(cluster string) typeSet {
	rc := &routev3.RouteConfiguration{Name: "r", VirtualHosts: []*routev3.VirtualHost{{Name: "h", Domains: []string{"*"},
		Routes: []*routev3.Route{{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}}}}}}}
	return newTypeSet([]string{"r"}, []types.Resource{rc}, time.Time{})
}

func clustersSet(names ...string) typeSet {
	items := make([]types.Resource, len(names))
	for i, n := range names {
		items[i] = &clusterv3.Cluster{Name: n}
	}
	return newTypeSet(names, items, time.Time{})
}

// A gRPC client's route change is not held back for a cluster the translation left out (it failed
// validation): that cluster is never sent, so waiting for it would delay every route change by the
// stage timeout.
func TestWarmUpDoesNotWaitForAClusterNeverSent(t *testing.T) {
	proxy := &model.Proxy{ID: "grpc", Proxyless: true}
	c := newConn(1, proxy, true, time.Time{})
	for typ := range numTypes {
		c.subs[typ] = newSubscription(nil)
	}
	c.generation = 1
	c.published[rds], c.ackedSet[rds] = routeTo("a"), routeTo("a")
	c.ackedSet[cds] = clustersSet("a")
	c.desired[cds], c.desired[rds] = clustersSet("a"), routeTo("dropped")

	out := c.next(time.Time{}, time.Minute)
	if c.staged || out[rds].version != c.desired[rds].version {
		t.Fatalf("the route change is held (staged %v) for a cluster that will never come", c.staged)
	}

	// A cluster that is offered but not yet accepted is still warmed up first.
	c.desired[cds], c.desired[rds] = clustersSet("a", "b"), routeTo("b")
	out = c.next(time.Time{}, time.Minute)
	if !c.staged || out[rds].version == c.desired[rds].version {
		t.Fatalf("the route to the new cluster b went out before the client had b")
	}
}
