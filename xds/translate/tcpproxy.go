package translate

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// toCluster is a tcp_proxy that sends every connection to one cluster, its stat prefix.
func toCluster(name string) *tcpproxyv3.TcpProxy {
	return &tcpproxyv3.TcpProxy{StatPrefix: name, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: name}}
}

// routeTCPProxy is Istio's buildOutboundNetworkFilters for the destinations of a TCP or TLS route:
// one destination is one cluster (whatever its weight), several are weighted clusters, leaving out
// those weighted 0. It returns nil when nothing is left to send to.
func (b *builder) routeTCPProxy(vs *model.VirtualService, where string, dests []*networking.RouteDestination, port uint32) *listenerv3.Filter {
	var kept []*networking.RouteDestination
	for _, d := range dests {
		if d.Destination != nil && (d.Weight > 0 || len(dests) == 1) {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		b.warn(vs.Meta, ResourceRef{}, "VirtualService %s/%s: %s has no destination with a weight above 0; left out", vs.Namespace, vs.Name, where)
		return nil
	}
	if len(kept) == 1 {
		d := kept[0].Destination
		cluster := b.destinationCluster(vs, d, port)
		svc, p, subset, ok := b.resolveDestination(vs, d, port)
		if !ok {
			return b.tcpProxy(toCluster(cluster), nil, port, "")
		}
		return b.tcpProxy(toCluster(cluster), svc, p, subset)
	}
	wc := &tcpproxyv3.TcpProxy_WeightedCluster{}
	for _, d := range kept {
		wc.Clusters = append(wc.Clusters, &tcpproxyv3.TcpProxy_WeightedCluster_ClusterWeight{
			Name: b.destinationCluster(vs, d.Destination, port), Weight: uint32(d.Weight)})
	}
	// As in Istio, a weighted proxy takes its timeouts and hash key from the first destination's rule.
	svc, p, _, ok := b.resolveDestination(vs, kept[0].Destination, port)
	if !ok {
		svc = nil
	}
	weighted := &tcpproxyv3.TcpProxy{StatPrefix: vs.Name + "." + vs.Namespace,
		ClusterSpecifier: &tcpproxyv3.TcpProxy_WeightedClusters{WeightedClusters: wc}}
	return b.tcpProxy(weighted, svc, p, "")
}

// tcpProxy completes a tcp_proxy and wraps it as a filter. The destination's DestinationRule (for its port and subset)
// sets what belongs to the proxy rather than the cluster, as in Istio: connectionPool.tcp.idleTimeout
// (Envoy's default, 1h, otherwise), maxConnectionDuration, and a consistentHash on the source IP.
func (b *builder) tcpProxy(proxy *tcpproxyv3.TcpProxy, svc *model.Service, port uint32, subset string) *listenerv3.Filter {
	if svc != nil {
		dr := b.destinationRule(svc)
		p := effectivePolicy(dr, port, subsetNamed(dr, subset))
		if t := tcpSettings(p.pool); t != nil {
			if t.IdleTimeout != nil {
				proxy.IdleTimeout = durationpb.New(t.IdleTimeout.Duration)
			}
			if t.MaxConnectionDuration != nil {
				proxy.MaxDownstreamConnectionDuration = durationpb.New(t.MaxConnectionDuration.Duration)
			}
		}
		if p.lb != nil && p.lb.ConsistentHash != nil && p.lb.ConsistentHash.UseSourceIP {
			proxy.HashPolicy = []*typev3.HashPolicy{{PolicySpecifier: &typev3.HashPolicy_SourceIp_{SourceIp: &typev3.HashPolicy_SourceIp{}}}}
		}
		if err := proxy.ValidateAll(); err != nil && dr != nil {
			// What the rule sets here is left out rather than the filter chain, which is the service's.
			proxy.IdleTimeout, proxy.MaxDownstreamConnectionDuration, proxy.HashPolicy = nil, nil, nil
			b.warnOnce(dr.Meta, ResourceRef{}, "DestinationRule %s/%s: its idleTimeout, maxConnectionDuration and consistentHash are left out of the TCP proxy to %s: %v",
				dr.Namespace, dr.Name, svc.Hostname, err)
		}
	}
	return &listenerv3.Filter{
		Name:       "envoy.filters.network.tcp_proxy",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(proxy)},
	}
}

func tcpSettings(pool *networking.ConnectionPoolSettings) *networking.TCPSettings {
	if pool == nil {
		return nil
	}
	return pool.TCP
}
