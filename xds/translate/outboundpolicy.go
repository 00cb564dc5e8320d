package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// The outbound traffic policy, as Istio builds it: traffic to a host the mesh does not know goes to
// PassthroughCluster (ALLOW_ANY: to where it was sent) or BlackHoleCluster (REGISTRY_ONLY: nowhere).
// Both clusters are always sent. Every outbound route config ends with a virtual host matching any
// domain, "allow_any" (to PassthroughCluster) or "block_all" (502); the virtual outbound listener's
// catch-all chain, "virtualOutbound-catchall-tcp", proxies other TCP to one of the two clusters, and
// connections to its own port 15001 always go to the black hole ("virtualOutbound-blackhole").

// Names of the outbound traffic policy's resources, as Istio has them.
const (
	BlackHoleCluster              = "BlackHoleCluster"
	passthroughRouteName          = "allow_any"
	blackHoleRouteName            = "block_all"
	virtualOutboundCatchAllTCP    = "virtualOutbound-catchall-tcp"
	virtualOutboundBlackholeChain = "virtualOutbound-blackhole"
)

// egressCluster is where traffic to unknown hosts goes under the proxy's policy.
func (b *builder) egressCluster() string {
	if b.outboundPolicy() == model.RegistryOnly {
		return BlackHoleCluster
	}
	return PassthroughCluster
}

func passthroughCluster() *clusterv3.Cluster {
	c := &clusterv3.Cluster{
		Name:                 PassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
	}
	// As Istio: the protocol the application spoke, kept idle for 5 minutes at most.
	var http httpOptions
	http.change(func(o *httpOptions) {
		o.useDownstream = true
		o.common.IdleTimeout = durationpb.New(5 * 60 * 1e9)
	})
	http.finish(c)
	return c
}

func blackHoleCluster() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 BlackHoleCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
	}
}

// catchAllVirtualHost is the last virtual host of every outbound route config.
func (b *builder) catchAllVirtualHost() *routev3.VirtualHost {
	match := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if b.outboundPolicy() == model.RegistryOnly {
		return &routev3.VirtualHost{
			Name:    blackHoleRouteName,
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:   blackHoleRouteName,
				Match:  match,
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 502}},
			}},
		}
	}
	noTimeout := durationpb.New(0)
	return &routev3.VirtualHost{
		Name:    passthroughRouteName,
		Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Name:  passthroughRouteName,
			Match: match,
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: PassthroughCluster},
				Timeout:          noTimeout,
				// As Istio, which keeps the deprecated field: its replacement regressed gRPC timeouts.
				MaxGrpcTimeout: noTimeout, //lint:ignore SA1019 as Istio sets it
			}},
		}},
	}
}

// virtualOutboundListener is the listener iptables sends outbound connections to; connections no
// other listener claims take its catch-all chain.
func (b *builder) virtualOutboundListener() *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:           VirtualOutboundListener,
		Address:        socketAddress("0.0.0.0", VirtualOutboundPort),
		UseOriginalDst: wrapperspb.Bool(true),
		FilterChains: []*listenerv3.FilterChain{
			namedChain(virtualOutboundBlackholeChain, &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(VirtualOutboundPort)},
				tcpProxyChain(BlackHoleCluster, BlackHoleCluster)),
			namedChain(virtualOutboundCatchAllTCP, nil, tcpProxyChain(b.egressCluster(), b.egressCluster())),
		},
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
	}
}

func namedChain(name string, match *listenerv3.FilterChainMatch, c *listenerv3.FilterChain) *listenerv3.FilterChain {
	c.Name, c.FilterChainMatch = name, match
	return c
}
