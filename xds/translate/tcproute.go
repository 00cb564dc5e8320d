package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// Outbound TCP and TLS listeners of a sidecar, as Istio builds them.
//
// Every non-HTTP service port gets a listener: "<vip>_<port>" for a service with a virtual IP (with
// iptables, the original destination tells services apart), else "0.0.0.0_<port>", shared by every
// such service on that port. A ServiceEntry CIDR address listens on 0.0.0.0 and matches the CIDR.
// On a shared listener TLS services are told apart by SNI (the tls_inspector reads it), and a second
// TCP service on the port cannot be told apart at all: it is left out with a warning.
//
// The filter chains come from the VirtualServices for the host: on a TLS or HTTPS port their tls
// routes (a chain per SNI match), on any other port their tcp routes (a chain per destinationSubnets
// match, until a match that takes every connection); a port no route takes falls back to the
// service's own cluster.

// tcpListener is an outbound listener being assembled from several services.
type tcpListener struct {
	name    string
	address string
	port    uint32
	chains  []*listenerv3.FilterChain
	owners  map[string]string // chain match → the service whose chain it is
	// sniffed is set when a service on it declares no protocol: HTTP is detected and routed.
	sniffed bool
}

// listenTarget is one address a service is reached at: a listener address and, for a CIDR, the
// destination range the listener's chains match.
type listenTarget struct {
	address string
	cidr    string
}

func (b *builder) tcpListeners(taken map[string]string, bind bool) []*listenerv3.Listener {
	byName := map[string]*tcpListener{}
	var order []string
	for _, svc := range b.services {
		for _, port := range svc.Ports {
			if port.Protocol.IsHTTP() || port.Protocol == model.ProtocolUDP || !b.listens(svc, port.Port) {
				continue
			}
			for _, target := range listenTargets(svc, bind) {
				name := fmt.Sprintf("%s_%d", target.address, port.Port)
				if _, err := netip.ParseAddr(target.address); err != nil {
					// Envoy resolves no names for listeners: it would refuse the whole response.
					b.warnOnce(serviceObject(svc), listenerRef(name), "service %s port %d: address %q is not an IP address; no TCP listener on it",
						svc.Hostname, port.Port, target.address)
					continue
				}
				if owner, ok := taken[name]; ok {
					b.warn(serviceObject(svc), listenerRef(name), "service %s port %d: listener %s is already taken by %s; no TCP listener", svc.Hostname, port.Port, name, owner)
					continue
				}
				l := byName[name]
				if l == nil {
					l = &tcpListener{name: name, address: target.address, port: port.Port, owners: map[string]string{}}
					byName[name] = l
					order = append(order, name)
				}
				l.sniffed = l.sniffed || port.Protocol.Sniffed()
				wildcard := target.address == outboundAddress(bind) // a listener shared by services
				for _, chain := range b.outboundL4Chains(svc, port, target.cidr, wildcard) {
					key := chainMatchKey(chain.FilterChainMatch)
					if owner, dup := l.owners[key]; dup {
						b.warn(b.provenance.chains[chain], listenerRef(name), "service %s port %d: listener %s already sends these connections to %s%s; left out",
							svc.Hostname, port.Port, name, owner, describeMatch(chain.FilterChainMatch))
						continue
					}
					l.owners[key] = svc.Hostname
					l.chains = append(l.chains, chain)
				}
			}
		}
	}
	out := make([]*listenerv3.Listener, 0, len(order))
	for _, name := range order {
		l := byName[name]
		if len(l.chains) == 0 {
			continue
		}
		listener := &listenerv3.Listener{
			Name:             l.name,
			Address:          socketAddress(l.address, l.port),
			BindToPort:       wrapperspb.Bool(bind),
			FilterChains:     l.chains,
			ListenerFilters:  tlsInspectorFor(l.chains),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		}
		if l.sniffed {
			b.sniff(listener, l.port)
		}
		out = append(out, listener)
	}
	return out
}

// listenTargets lists where a service port listens: its virtual IPs, its CIDRs on 0.0.0.0, or one
// address alone without iptables (nothing can be bound to a virtual IP: localhost) or without an
// address (0.0.0.0).
func listenTargets(svc *model.Service, bind bool) []listenTarget {
	addrs := svc.Addresses
	if len(addrs) == 0 && svc.Address != "" {
		addrs = []string{svc.Address}
	}
	if bind || len(addrs) == 0 {
		return []listenTarget{{address: outboundAddress(bind)}}
	}
	var out []listenTarget
	for _, a := range addrs {
		t := listenTarget{address: a}
		if strings.Contains(a, "/") {
			t = listenTarget{address: "0.0.0.0", cidr: a}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// outboundL4Chains are the filter chains of one service port on one listener.
func (b *builder) outboundL4Chains(svc *model.Service, port model.Port, cidr string, wildcard bool) []*listenerv3.FilterChain {
	var vss []*model.VirtualService
	for _, vs := range b.snap.VirtualServicesFor(svc.Hostname) {
		if b.vsApplies(vs) {
			vss = append(vss, vs)
		}
	}
	var base []string
	if cidr != "" {
		base = []string{cidr}
	}
	if port.Protocol.IsTLS() {
		b.warnUnusedRoutes(vss, svc, port, "tcp")
		chains := b.tlsRouteChains(vss, port.Port, base)
		if len(chains) > 0 {
			return chains
		}
		// Without a VirtualService, SNI is the only way to tell services on a shared listener apart.
		var sni []string
		if cidr != "" || wildcard {
			sni = []string{svc.Hostname}
		}
		return []*listenerv3.FilterChain{b.defaultL4Chain(svc, port, sni, base)}
	}
	b.warnUnusedRoutes(vss, svc, port, "tls")
	chains, catchAll := b.tcpRouteChains(vss, port.Port, base)
	if !catchAll {
		chains = append(chains, b.defaultL4Chain(svc, port, nil, base))
	}
	return chains
}

// tlsRouteChains is Istio's buildSidecarOutboundTLSFilterChainOpts: a chain per TLS match that
// applies to this proxy and port, matching its SNI hosts and destination subnets; a later match with
// the same SNI hosts and subnets can never be reached and is skipped.
func (b *builder) tlsRouteChains(vss []*model.VirtualService, port uint32, base []string) []*listenerv3.FilterChain {
	var out []*listenerv3.FilterChain
	handled := map[string]bool{}
	for _, vs := range vss {
		for i, route := range vs.Spec.TLS {
			for _, m := range route.Match {
				if !b.l4MatchApplies(vs, m.Port, m.SourceLabels, m.SourceNamespace, m.Gateways, port) {
					continue
				}
				cidrs := base
				if len(m.DestinationSubnets) > 0 {
					cidrs = m.DestinationSubnets
				}
				key := strings.Join(m.SniHosts, ",") + "|" + strings.Join(m.DestinationSubnets, ",")
				if handled[key] {
					continue
				}
				proxy := b.routeTCPProxy(vs, fmt.Sprintf("tls[%d]", i), route.Route, port)
				if proxy == nil {
					continue
				}
				handled[key] = true
				out = append(out, b.provenance.chain(l4Chain(sniHosts(m.SniHosts), cidrs, proxy), vs.Meta))
			}
		}
	}
	return out
}

// tcpRouteChains is Istio's buildSidecarOutboundTCPFilterChainOpts: routes are tried in order; a
// match (or a route without match) that does not name destinationSubnets takes every remaining
// connection and ends the list; matches with subnets add a chain for those subnets.
func (b *builder) tcpRouteChains(vss []*model.VirtualService, port uint32, base []string) ([]*listenerv3.FilterChain, bool) {
	var out []*listenerv3.FilterChain
	for _, vs := range vss {
		for i, route := range vs.Spec.TCP {
			where := fmt.Sprintf("tcp[%d]", i)
			if len(route.Match) == 0 {
				if proxy := b.routeTCPProxy(vs, where, route.Route, port); proxy != nil {
					return append(out, b.provenance.chain(l4Chain(nil, base, proxy), vs.Meta)), true
				}
				continue
			}
			var subnets []string
			for _, m := range route.Match {
				if !b.l4MatchApplies(vs, m.Port, m.SourceLabels, m.SourceNamespace, m.Gateways, port) {
					continue
				}
				if len(m.DestinationSubnets) == 0 {
					if proxy := b.routeTCPProxy(vs, where, route.Route, port); proxy != nil {
						return append(out, b.provenance.chain(l4Chain(nil, base, proxy), vs.Meta)), true
					}
					break
				}
				subnets = append(subnets, m.DestinationSubnets...)
			}
			if len(subnets) == 0 {
				continue
			}
			if proxy := b.routeTCPProxy(vs, where, route.Route, port); proxy != nil {
				out = append(out, b.provenance.chain(l4Chain(nil, subnets, proxy), vs.Meta))
				if slices.Equal(sortedCopy(subnets), sortedCopy(base)) {
					return out, true // the same match as the default chain: that one could never be reached
				}
			}
		}
	}
	return out, false
}

// l4MatchApplies decides the parts of a TCP or TLS match known when the config is built: port,
// source labels and namespace, and gateways.
func (b *builder) l4MatchApplies(vs *model.VirtualService, matchPort uint32, sourceLabels map[string]string, sourceNamespace string, gateways []string, port uint32) bool {
	return (matchPort == 0 || matchPort == port) &&
		model.LabelsMatch(sourceLabels, b.proxy.Labels) &&
		(sourceNamespace == "" || sourceNamespace == b.proxy.Namespace) &&
		b.matchBound(gateways, vs.Namespace)
}

// warnUnusedRoutes: tcp routes do nothing on a TLS port, tls routes nothing on a TCP port (Istio
// ignores them); say so rather than leave the user guessing.
func (b *builder) warnUnusedRoutes(vss []*model.VirtualService, svc *model.Service, port model.Port, kind string) {
	for _, vs := range vss {
		n := len(vs.Spec.TCP)
		if kind == "tls" {
			n = len(vs.Spec.TLS)
		}
		if n > 0 {
			b.warnOnce(vs.Meta, ResourceRef{}, "VirtualService %s/%s: its %s routes do not apply to %s port %d, which is %s",
				vs.Namespace, vs.Name, kind, svc.Hostname, port.Port, port.Protocol)
		}
	}
}

func (b *builder) defaultL4Chain(svc *model.Service, port model.Port, sni, cidrs []string) *listenerv3.FilterChain {
	cluster := ClusterName(port.Port, "", svc.Hostname)
	return b.provenance.chain(l4Chain(sni, cidrs, b.tcpProxy(toCluster(cluster), svc, port.Port, "")), serviceObject(svc))
}

func l4Chain(sni, cidrs []string, proxy *listenerv3.Filter) *listenerv3.FilterChain {
	chain := &listenerv3.FilterChain{Filters: []*listenerv3.Filter{proxy}}
	if len(sni) > 0 || len(cidrs) > 0 {
		chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sni, PrefixRanges: cidrRanges(cidrs)}
	}
	return chain
}

// sniHosts are the server names of a TLS match; "*" matches any name, which is no SNI condition.
func sniHosts(hosts []string) []string {
	if slices.Contains(hosts, "*") {
		return nil
	}
	return hosts
}

func cidrRanges(cidrs []string) []*corev3.CidrRange {
	var out []*corev3.CidrRange
	for _, c := range cidrs {
		prefix, err := netip.ParsePrefix(c)
		if err != nil {
			addr, err := netip.ParseAddr(c)
			if err != nil {
				continue // validation refuses it; an unparsable range must not widen the match
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, &corev3.CidrRange{AddressPrefix: prefix.Addr().String(), PrefixLen: wrapperspb.UInt32(uint32(prefix.Bits()))})
	}
	return out
}

func chainMatchKey(m *listenerv3.FilterChainMatch) string {
	names := sortedCopy(m.GetServerNames())
	var ranges []string
	for _, r := range m.GetPrefixRanges() {
		ranges = append(ranges, fmt.Sprintf("%s/%d", r.GetAddressPrefix(), r.GetPrefixLen().GetValue()))
	}
	slices.Sort(ranges)
	return strings.Join(names, ",") + "|" + strings.Join(ranges, ",") + "|" + m.GetTransportProtocol()
}

func describeMatch(m *listenerv3.FilterChainMatch) string {
	if m == nil {
		return ""
	}
	var parts []string
	if len(m.ServerNames) > 0 {
		parts = append(parts, "SNI "+strings.Join(m.ServerNames, ","))
	}
	if len(m.PrefixRanges) > 0 {
		parts = append(parts, "destinations "+strings.Split(chainMatchKey(m), "|")[1])
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// tlsInspectorFor adds the listener filter that reads SNI, when a chain matches on it.
func tlsInspectorFor(chains []*listenerv3.FilterChain) []*listenerv3.ListenerFilter {
	for _, c := range chains {
		if len(c.GetFilterChainMatch().GetServerNames()) > 0 || len(c.GetFilterChainMatch().GetTransportProtocol()) > 0 {
			return []*listenerv3.ListenerFilter{{
				Name:       "envoy.filters.listener.tls_inspector",
				ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(&tlsinspectorv3.TlsInspector{})},
			}}
		}
	}
	return nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
