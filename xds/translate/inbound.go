package translate

import (
	"fmt"
	"maps"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// The inbound side of a sidecar, for traffic to its own workload. iptables sends it to the virtual
// inbound listener on 15006, whose filter chains match the original destination port: each port the
// workload serves (a port of a service whose endpoints have the sidecar's IP) is proxied to
// "inbound|<port>||", a STATIC cluster at 127.0.0.1:<port> (HTTP through an HTTP connection manager,
// anything else as TCP); any other port passes through to where the client sent it. Without iptables
// (interception NONE) Istio builds no inbound side unless a Sidecar resource asks, and neither does
// minipilot.

// Inbound names, as Istio has them.
const (
	VirtualInboundListener    = "virtualInbound"
	VirtualInboundPort        = 15006
	InboundPassthroughCluster = "InboundPassthroughCluster" // Istio 1.31 (one for IPv4 and IPv6)
	// inboundPassthroughBindIP is the source address of passed-through inbound connections, which
	// Istio's iptables rules let out rather than redirect back to the sidecar.
	inboundPassthroughBindIP = "127.0.0.6"
)

// InboundClusterName is Istio's name for the cluster of a port of the sidecar's own workload.
func InboundClusterName(port uint32) string { return fmt.Sprintf("inbound|%d||", port) }

// inboundPort is a port the sidecar's workload serves, with the service port that names it.
type inboundPort struct {
	target uint32
	svc    *model.Service
	port   model.Port
}

func (b *builder) servesInbound() bool {
	return b.proxy.Type == model.Sidecar && !b.proxy.Proxyless && b.proxy.InterceptionMode != model.InterceptionNone
}

// inboundPorts lists the workload's ports, by the endpoints with the sidecar's IP, in port order. A
// port several services share is proxied with the first service's protocol (by hostname).
func (b *builder) inboundPorts() []inboundPort {
	byTarget := map[uint32]inboundPort{}
	for _, host := range b.snap.HostsWithEndpointAt(b.proxy.IPAddress) {
		svc := b.snap.Service(host)
		if svc == nil {
			continue // endpoints of a service the mesh does not have
		}
		svc = b.served(svc)
		for _, port := range svc.Ports {
			if port.Protocol == model.ProtocolUDP {
				continue
			}
			for _, ep := range b.snap.Endpoints(svc.Hostname, port) {
				if ep.Address != b.proxy.IPAddress {
					continue
				}
				if ep.Port == 0 || ep.Port > 65535 {
					b.warnOnce(serviceObject(svc), listenerRef(VirtualInboundListener), "inbound: endpoint %s of %s port %q has port %d, outside 1-65535; not proxied",
						ep.Address, svc.Hostname, port.Name, ep.Port)
					continue
				}
				if have, ok := byTarget[ep.Port]; ok {
					if have.port.Protocol.IsHTTP() != port.Protocol.IsHTTP() {
						b.warnOnce(serviceObject(svc), listenerRef(VirtualInboundListener), "inbound port %d: %s says %s but %s says %s; proxied as %s", ep.Port,
							have.svc.Hostname, have.port.Protocol, svc.Hostname, port.Protocol, have.port.Protocol)
					}
					continue
				}
				byTarget[ep.Port] = inboundPort{target: ep.Port, svc: svc, port: port}
			}
		}
	}
	out := make([]inboundPort, 0, len(byTarget))
	for _, t := range slices.Sorted(maps.Keys(byTarget)) {
		out = append(out, byTarget[t])
	}
	return out
}

// workloadPorts are the ports found from the workload's endpoints, unless the proxy's Sidecar
// declares its ingress ports (ingress.go), which then replace them.
func (b *builder) workloadPorts() []inboundPort {
	if _, ingress := b.sidecarIngress(); ingress != nil {
		return nil
	}
	return b.inboundPorts()
}

// inboundClusters are the workload's clusters and the inbound passthrough cluster. As in Istio, only
// the DestinationRule's connection pool applies inbound (so that a server allows what its clients do).
func (b *builder) inboundClusters() []*clusterv3.Cluster {
	if !b.servesInbound() {
		return nil
	}
	var out []*clusterv3.Cluster
	if _, ingress := b.sidecarIngress(); ingress != nil {
		for _, in := range ingress {
			out = append(out, ingressCluster(in))
		}
	}
	for _, in := range b.workloadPorts() {
		dr := b.destinationRule(in.svc)
		b.provenance.cluster(InboundClusterName(in.target), clusterSource{svc: in.svc, port: in.port, dr: dr, inbound: in.target})
		out = append(out, inboundCluster(in.target, in.port, portPolicy(trafficPolicyOf(dr), in.port.Port).pool))
	}
	return append(out, &clusterv3.Cluster{
		Name:                 InboundPassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		UpstreamBindConfig:   &corev3.BindConfig{SourceAddress: socketAddress(inboundPassthroughBindIP, 0).GetSocketAddress()},
	})
}

// inboundCluster is the cluster of a port of the workload, with a connection pool.
func inboundCluster(target uint32, port model.Port, pool *networking.ConnectionPoolSettings) *clusterv3.Cluster {
	name := InboundClusterName(target)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		LoadAssignment:       loadAssignment(name, []*model.Endpoint{{Address: "127.0.0.1", Port: target, Ready: true}}),
	}
	var http httpOptions
	if port.Protocol.IsHTTP2() {
		http.change(func(o *httpOptions) { o.http2 = true })
	}
	applyCircuitBreakers(c, pool)
	applyConnectionPool(c, pool, port, &http)
	http.finish(c)
	return c
}

func trafficPolicyOf(dr *model.DestinationRule) *networking.TrafficPolicy {
	if dr == nil {
		return nil
	}
	return dr.Spec.TrafficPolicy
}

// virtualInboundListener dispatches inbound connections by original destination port.
func (b *builder) virtualInboundListener() *listenerv3.Listener {
	if !b.servesInbound() {
		return nil
	}
	var chains []*listenerv3.FilterChain
	if sc, ingress := b.sidecarIngress(); ingress != nil {
		for _, in := range ingress {
			chains = append(chains, b.ingressChain(sc, in))
		}
	}
	for _, in := range b.workloadPorts() {
		cluster := InboundClusterName(in.target)
		chain := &listenerv3.FilterChain{
			Name:             fmt.Sprintf("0.0.0.0_%d", in.target),
			FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(in.target)},
		}
		if in.port.Protocol.IsHTTP() {
			chain.Filters = []*listenerv3.Filter{inboundHTTPFilter(in.target, cluster)}
		} else {
			chain.Filters = []*listenerv3.Filter{b.tcpProxy(toCluster(cluster), nil, in.port.Port, "")}
		}
		chains = append(chains, b.provenance.chain(chain, serviceObject(in.svc)))
	}
	chains = append(chains, &listenerv3.FilterChain{
		Name:             "virtualInbound-catchall",
		FilterChainMatch: &listenerv3.FilterChainMatch{PrefixRanges: cidrRanges([]string{"0.0.0.0/0"})},
		Filters:          []*listenerv3.Filter{b.tcpProxy(toCluster(InboundPassthroughCluster), nil, 0, "")},
	})
	return &listenerv3.Listener{
		Name:             VirtualInboundListener,
		Address:          socketAddress("0.0.0.0", VirtualInboundPort),
		UseOriginalDst:   wrapperspb.Bool(true),
		FilterChains:     chains,
		TrafficDirection: corev3.TrafficDirection_INBOUND,
	}
}

// inboundHTTPFilter routes every request on the port to the workload, with the route config inline
// (Istio's "inbound|<port>||"); there is no route timeout, as in Istio.
func inboundHTTPFilter(port uint32, cluster string) *listenerv3.Filter {
	rc := &routev3.RouteConfiguration{
		Name: cluster,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    fmt.Sprintf("inbound|http|%d", port),
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:  "default",
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
					Timeout:          durationpb.New(0),
				}},
			}},
		}},
	}
	hcm := httpConnectionManager(fmt.Sprintf("inbound_0.0.0.0_%d", port), cluster)
	hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc}
	return &listenerv3.Filter{
		Name:       "envoy.filters.network.http_connection_manager",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)},
	}
}
