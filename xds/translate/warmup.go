package translate

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// WarmupRouteName names the route WithWarmupRoute adds.
const WarmupRouteName = "minipilot-warmup"

// RouteClusters lists, sorted, the clusters a route configuration sends traffic to.
func RouteClusters(rc *routev3.RouteConfiguration) []string {
	out := referencedClusters([]*routev3.RouteConfiguration{rc})
	slices.Sort(out)
	return slices.Compact(out)
}

// WithWarmupRoute returns a copy of rc with one more route that matches no request (a 0% runtime
// fraction) and leads to clusters. A gRPC client that receives it subscribes to those clusters and
// builds their load balancers while its traffic still follows the old routes; once it has them, the
// routes that really use them can follow without a failed RPC. (gRPC switches routes before a newly
// named cluster has a picker, and fails the RPCs that land in between.)
func WithWarmupRoute(rc *routev3.RouteConfiguration, clusters []string) *routev3.RouteConfiguration {
	out := proto.Clone(rc).(*routev3.RouteConfiguration)
	if len(out.VirtualHosts) == 0 || len(clusters) == 0 {
		return out
	}
	// total_weight is the sum, said outright: older gRPC clients check the weights against it (100
	// when unset) and refuse the route config otherwise; newer ones ignore it (grpcclient.go).
	//lint:ignore SA1019 see above
	wc := &routev3.WeightedCluster{TotalWeight: wrapperspb.UInt32(uint32(len(clusters)))}
	for _, c := range clusters {
		wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: c, Weight: wrapperspb.UInt32(1)})
	}
	never := &routev3.RouteMatch{
		PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
		RuntimeFraction: &corev3.RuntimeFractionalPercent{
			DefaultValue: &typev3.FractionalPercent{Numerator: 0, Denominator: typev3.FractionalPercent_HUNDRED},
		},
	}
	vh := out.VirtualHosts[0]
	vh.Routes = append([]*routev3.Route{{
		Name:   WarmupRouteName,
		Match:  never,
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}},
	}}, vh.Routes...)
	return out
}

// ListenerClusters lists, sorted, the clusters a listener's tcp_proxy filters send connections to:
// like the clusters routes lead to, they must stay while a proxy runs the listener.
func ListenerClusters(l *listenerv3.Listener) []string {
	var out []string
	chains := append([]*listenerv3.FilterChain{l.GetDefaultFilterChain()}, l.GetFilterChains()...)
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			tp := &tcpproxyv3.TcpProxy{}
			if f.GetTypedConfig().MessageIs(tp) && f.GetTypedConfig().UnmarshalTo(tp) == nil {
				if c := tp.GetCluster(); c != "" {
					out = append(out, c)
				}
				for _, w := range tp.GetWeightedClusters().GetClusters() {
					out = append(out, w.GetName())
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
