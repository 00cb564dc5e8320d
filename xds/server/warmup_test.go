package server

import (
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

func routeTo(cluster string) typeSet {
	rc := &routev3.RouteConfiguration{Name: "r", VirtualHosts: []*routev3.VirtualHost{{Name: "h", Domains: []string{"*"},
		Routes: []*routev3.Route{{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}}}}}}}
	return newTypeSet([]string{"r"}, []types.Resource{rc}, time.Time{})
}

// grpcClientRunning is a gRPC client's stream that has taken a route to cluster and the cluster.
func grpcClientRunning(cluster string) *conn {
	c := newConn(1, &model.Proxy{ID: "grpc", Proxyless: true}, true, time.Time{})
	for typ := range numTypes {
		c.subs[typ] = newSubscription(nil)
	}
	c.generation = 1
	c.published[rds], c.ackedSet[rds] = routeTo(cluster), routeTo(cluster)
	c.ackedSet[cds] = clustersSet(cluster)
	return c
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
	c := grpcClientRunning("a")
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

func tcpListenerTo(cluster string) typeSet {
	tp, err := anypb.New(&tcpproxyv3.TcpProxy{StatPrefix: cluster, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}})
	if err != nil {
		panic(err)
	}
	l := &listenerv3.Listener{Name: "0.0.0.0_3306", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
		Name: "envoy.filters.network.tcp_proxy", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: tp}}}}}}
	return newTypeSet([]string{l.Name}, []types.Resource{l}, time.Time{})
}

// Make-before-break covers TCP too: a cluster that an accepted listener's tcp_proxy still sends
// connections to stays until the proxy has taken listeners that no longer use it.
func TestClusterOfATCPListenerStaysUntilTheListenerMoves(t *testing.T) {
	c := newConn(1, &model.Proxy{ID: "envoy"}, true, time.Time{})
	for typ := range numTypes {
		c.subs[typ] = newSubscription(nil)
	}
	c.generation = 1
	c.ackedSet[cds], c.ackedSet[lds] = clustersSet("mysql-a"), tcpListenerTo("mysql-a")
	c.holdsSet = c.ackedSet
	c.desired[cds], c.desired[lds] = clustersSet("mysql-b"), tcpListenerTo("mysql-b")

	out := c.next(time.Time{}, time.Minute)
	if got := out[cds].nameSet(); !got["mysql-a"] || !got["mysql-b"] {
		t.Fatalf("clusters %v: mysql-a must stay while the accepted listener sends to it", got)
	}
	c.ackedSet[lds] = tcpListenerTo("mysql-b")
	c.holdsSet = c.ackedSet
	if got := c.next(time.Time{}, time.Minute)[cds].nameSet(); got["mysql-a"] {
		t.Fatalf("clusters %v: mysql-a must go once the listener has moved", got)
	}
}

func endpointSets(names ...string) typeSet {
	items := make([]types.Resource, len(names))
	for i, n := range names {
		items[i] = &endpointv3.ClusterLoadAssignment{ClusterName: n}
	}
	return newTypeSet(names, items, time.Time{})
}

// An Envoy that refused its new clusters will not ask for their endpoints: its listeners and routes
// must not be held for the stage timeout on every push because of them.
func TestRefusedClustersDoNotHoldListeners(t *testing.T) {
	c := newConn(1, &model.Proxy{ID: "envoy"}, true, time.Time{})
	for typ := range numTypes {
		c.subs[typ] = newSubscription(nil)
	}
	c.subs[eds] = newSubscription([]string{"a"}) // it asks for what it has: a
	c.generation = 1
	c.ackedSet[cds], c.ackedSet[eds] = clustersSet("a"), endpointSets("a")
	c.acked[eds].Version = c.ackedSet[eds].version
	c.desired[cds], c.desired[eds] = clustersSet("a", "b"), endpointSets("a", "b")
	c.desired[lds] = tcpListenerTo("a")
	c.nack[cds].Version = c.desired[cds].version // it refused {a, b}

	out := c.next(time.Time{}, time.Minute)
	if c.staged || out[lds].version != c.desired[lds].version {
		t.Fatalf("listeners held (staged %v) for the endpoints of a cluster the client refused", c.staged)
	}
}

// The route config a gRPC client is warmed up with is the one it runs (read back from the bytes
// it was sent) with one route first that names the new clusters; warmed up again, it carries one
// such route, never a pile of them.
func TestWarmUpKeepsTheRoutesTheClientRuns(t *testing.T) {
	c := grpcClientRunning("a")

	for _, next := range []string{"b", "c"} {
		c.desired[cds], c.desired[rds] = clustersSet("a", "b", "c"), routeTo(next)
		out := c.next(time.Time{}, time.Minute)
		if !c.staged || len(out[rds].entries) != 1 {
			t.Fatalf("warming up to %s: staged %v, %d route configs", next, c.staged, len(out[rds].entries))
		}
		rc := decodeRouteConfig(out[rds].entries[0])
		routes := rc.VirtualHosts[0].Routes
		if len(routes) != 2 || routes[0].Name != translate.WarmupRouteName || routes[1].GetRoute().GetCluster() != "a" {
			t.Fatalf("warming up to %s: want the warm-up route, then the route to a the client runs; got %v", next, routes)
		}
		var named []string
		for _, wc := range routes[0].GetRoute().GetWeightedClusters().GetClusters() {
			named = append(named, wc.Name)
		}
		if !slices.Equal(named, []string{next}) {
			t.Fatalf("the warm-up route names %v, want the cluster the new routes lead to, %s", named, next)
		}
		if uses := slices.Sorted(slices.Values(out[rds].entries[0].uses)); !slices.Equal(uses, []string{"a", next}) {
			t.Fatalf("the warm-up route config uses %v, want a and %s", uses, next)
		}
		c.published[rds] = out[rds] // sent; the next warm-up starts from it
	}
}
