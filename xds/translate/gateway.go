package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// Gateways. A router proxy (node ID "router~...") gets the listeners of the Gateway resources whose
// selector matches its labels, as Istio's gateway generator builds them:
//   - one listener per port (and bind address), "0.0.0.0_<port>", bound;
//   - plain HTTP servers on a port share route config "http.<port>", a virtual host per host;
//   - an HTTPS server that terminates TLS gets a filter chain matching its hosts by SNI, with its
//     certificate, and its own route config "https.<port>.<portName>.<gateway>.<namespace>";
//   - a TLS PASSTHROUGH server gets a filter chain per SNI match of the tls routes bound to it;
//   - a TCP server, or a TLS server that terminates, sends connections by the tcp routes bound to it.
// Routes come from the VirtualServices bound to the gateway ("gateways: [ns/name]") whose hosts meet
// the server's. Clusters and endpoints are those a sidecar in the router's namespace would get.

// gatewayServer is one server of one selected Gateway.
type gatewayServer struct {
	gw     *model.Gateway
	server *networking.Server
}

func (s gatewayServer) name() string { return s.gw.Namespace + "/" + s.gw.Name }

func (s gatewayServer) protocol() model.Protocol { return model.ParseProtocol(s.server.Port.Protocol) }

// passthrough says whether the server forwards TLS without terminating it.
func (s gatewayServer) passthrough() bool {
	// An unset mode is PASSTHROUGH, the first value of Istio's enum.
	return s.server.TLS != nil && (s.server.TLS.Mode == "PASSTHROUGH" || s.server.TLS.Mode == "")
}

// gatewayResources builds a router's resources.
func (b *builder) gatewayResources() Resources {
	var r Resources
	r.Clusters = b.clusters()
	r.Endpoints = b.endpoints()
	r.Listeners, r.Routes = b.gatewayListeners()
	return r
}

// selectedServers lists the servers of the Gateways that select this router, grouped by listener.
func (b *builder) selectedServers() (map[string][]gatewayServer, []string) {
	byListener := map[string][]gatewayServer{}
	var names []string
	for _, gw := range b.snap.Gateways {
		if !model.LabelsMatch(gw.Spec.Selector, b.proxy.Labels) {
			continue
		}
		for _, s := range gw.Spec.Servers {
			if s.Port == nil {
				continue
			}
			name := fmt.Sprintf("%s_%d", listenAddress(s), s.Port.Number)
			if byListener[name] == nil {
				names = append(names, name)
			}
			byListener[name] = append(byListener[name], gatewayServer{gw: gw, server: s})
		}
	}
	slices.Sort(names)
	return byListener, names
}

func listenAddress(s *networking.Server) string {
	if s.Bind != "" {
		return s.Bind
	}
	return "0.0.0.0"
}

func (b *builder) gatewayListeners() ([]*listenerv3.Listener, []*routev3.RouteConfiguration) {
	byListener, names := b.selectedServers()
	var listeners []*listenerv3.Listener
	var routes []*routev3.RouteConfiguration
	for _, name := range names {
		servers := b.compatibleServers(name, byListener[name])
		first := servers[0].server
		var chains []*listenerv3.FilterChain
		if servers[0].protocol().IsHTTP() {
			rc := b.gatewayRouteConfig(httpRouteName(first), first.Port.Number, servers)
			routes = append(routes, rc)
			chain := &listenerv3.FilterChain{Filters: []*listenerv3.Filter{b.gatewayHCM(name, rc.Name)}}
			chains = append(chains, b.provenance.chain(chain, servers[0].gw.Meta))
		} else {
			var rcs []*routev3.RouteConfiguration
			chains, rcs = b.gatewayL4Chains(name, servers)
			routes = append(routes, rcs...)
		}
		if len(chains) == 0 {
			b.warn(servers[0].gw.Meta, listenerRef(name), "gateway listener %s: no server has anything to route; left out", name)
			continue
		}
		listeners = append(listeners, &listenerv3.Listener{
			Name:             name,
			Address:          socketAddress(listenAddress(first), first.Port.Number),
			FilterChains:     chains,
			ListenerFilters:  tlsInspectorFor(chains),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		})
	}
	return listeners, routes
}

// compatibleServers keeps the servers that can share a listener with the first one: plain HTTP
// servers only with each other; TLS and TCP servers with each other, told apart by SNI.
func (b *builder) compatibleServers(listener string, servers []gatewayServer) []gatewayServer {
	http := servers[0].protocol().IsHTTP()
	var out []gatewayServer
	for _, s := range servers {
		if s.protocol().IsHTTP() != http {
			b.warn(s.gw.Meta, listenerRef(listener), "Gateway %s: server on port %d (%s) cannot share listener %s with %s server of Gateway %s; left out",
				s.name(), s.server.Port.Number, s.server.Port.Protocol, listener, servers[0].server.Port.Protocol, servers[0].name())
			continue
		}
		out = append(out, s)
	}
	return out
}

// httpRouteName is Istio's route config name for plain HTTP servers on a port.
func httpRouteName(s *networking.Server) string {
	name := "http." + strconv.FormatUint(uint64(s.Port.Number), 10)
	if s.Bind != "" {
		name += "." + s.Bind
	}
	return name
}

// httpsRouteName is Istio's route config name for one HTTPS server that terminates TLS.
func httpsRouteName(s gatewayServer) string {
	name := fmt.Sprintf("https.%d.%s.%s.%s", s.server.Port.Number, s.server.Port.Name, s.gw.Name, s.gw.Namespace)
	if s.server.Bind != "" {
		name += "." + s.server.Bind
	}
	return name
}

// gatewayHCM is the HTTP connection manager of a gateway chain. Like Istio's gateways, it trusts the
// connection's peer as the client address (use_remote_address): a gateway is the edge.
func (b *builder) gatewayHCM(listener, routeName string) *listenerv3.Filter {
	hcm := httpConnectionManager("outbound_"+listener, routeName)
	hcm.UseRemoteAddress = wrapperspb.Bool(true)
	return &listenerv3.Filter{
		Name:       "envoy.filters.network.http_connection_manager",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)},
	}
}

// gatewayL4Chains builds the chains of a listener whose servers speak TLS or TCP, and the route
// configs of its HTTPS servers.
func (b *builder) gatewayL4Chains(listener string, servers []gatewayServer) ([]*listenerv3.FilterChain, []*routev3.RouteConfiguration) {
	var chains []*listenerv3.FilterChain
	var routes []*routev3.RouteConfiguration
	owners := map[string]string{}
	add := func(s gatewayServer, c *listenerv3.FilterChain) {
		key := chainMatchKey(c.FilterChainMatch)
		if owner, dup := owners[key]; dup {
			b.warn(s.gw.Meta, listenerRef(listener), "Gateway %s: a server on %s matches the same connections as one of Gateway %s%s; left out",
				s.name(), listener, owner, describeMatch(c.FilterChainMatch))
			return
		}
		owners[key] = s.name()
		chains = append(chains, c)
	}
	for _, s := range servers {
		b.gateways = []string{s.name()}
		port := s.server.Port.Number
		if p := s.protocol(); (p == model.ProtocolHTTPS || p == model.ProtocolTLS) && s.server.TLS == nil {
			b.warn(s.gw.Meta, listenerRef(listener), "Gateway %s: the %s server on port %d has no tls settings; left out", s.name(), p, port)
			continue
		}
		switch {
		case s.passthrough():
			for _, c := range b.passthroughChains(s) {
				add(s, c)
			}
		case s.protocol() == model.ProtocolHTTPS:
			rc := b.gatewayRouteConfig(httpsRouteName(s), port, []gatewayServer{s})
			routes = append(routes, rc)
			add(s, b.terminatingChain(s, b.gatewayHCM(listener, rc.Name), true))
		default: // TCP (and Mongo, Redis, MySQL), or TLS terminated here: tcp routes
			proxy := b.gatewayTCPProxy(s)
			if proxy == nil {
				b.warn(s.gw.Meta, listenerRef(listener), "Gateway %s: no tcp route of a VirtualService bound to it takes port %d; nothing is forwarded", s.name(), port)
				continue
			}
			if s.server.TLS != nil {
				add(s, b.terminatingChain(s, proxy, false))
			} else {
				add(s, b.provenance.chain(&listenerv3.FilterChain{Filters: []*listenerv3.Filter{proxy}}, s.gw.Meta))
			}
		}
	}
	b.gateways = nil
	return chains, routes
}

// terminatingChain matches the server's hosts by SNI and terminates TLS with its certificate.
func (b *builder) terminatingChain(s gatewayServer, filter *listenerv3.Filter, http bool) *listenerv3.FilterChain {
	chain := &listenerv3.FilterChain{
		Filters: []*listenerv3.Filter{filter},
		TransportSocket: &corev3.TransportSocket{
			Name:       "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(serverTLSContext(s.server.TLS, http))},
		},
	}
	if sni := serverSNI(s.server); len(sni) > 0 {
		chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sni}
	}
	return b.provenance.chain(chain, s.gw.Meta)
}

// serverHosts are a server's hosts without their namespace part ("ns/host" → "host").
func serverHosts(s *networking.Server) []string {
	out := make([]string, 0, len(s.Hosts))
	for _, h := range s.Hosts {
		if _, host, ok := strings.Cut(h, "/"); ok {
			h = host
		}
		out = append(out, h)
	}
	return out
}

// serverSNI are the SNI names a terminating server matches; "*" matches any, which is no condition.
func serverSNI(s *networking.Server) []string {
	hosts := serverHosts(s)
	if slices.Contains(hosts, "*") {
		return nil
	}
	return hosts
}

// hostAllowed says whether a server host entry ("ns/host", "./host", "*/host" or "host") admits a
// VirtualService of namespace vsNamespace, and returns its host part.
func hostAllowed(entry, gwNamespace, vsNamespace string) (string, bool) {
	ns, host, ok := strings.Cut(entry, "/")
	if !ok {
		return entry, true
	}
	switch ns {
	case "*":
		return host, true
	case ".":
		return host, vsNamespace == gwNamespace
	}
	return host, ns == vsNamespace
}

// meet returns the hostname where a VirtualService host and a server host overlap: the more specific
// of the two, or "" when they do not.
func meet(vsHost, serverHost string) string {
	switch {
	case model.HostMatches(serverHost, vsHost):
		return vsHost
	case model.HostMatches(vsHost, serverHost):
		return serverHost
	}
	return ""
}

// gatewayHost resolves a VirtualService host written for a gateway: a bare name is a service in the
// VirtualService's namespace; a dotted name (bookinfo.example.com) is kept as the client writes it.
func (b *builder) gatewayHost(h, namespace string) string {
	if strings.Contains(h, ".") || strings.HasPrefix(h, "*") {
		return h
	}
	return model.ResolveShortName(h, namespace, b.snap.DomainSuffix)
}

// boundVirtualServices lists, oldest first, the VirtualServices bound to the server's gateway, each
// with the hosts where it meets the server.
func (b *builder) boundVirtualServices(s gatewayServer) []boundVS {
	var out []boundVS
	for _, vs := range b.snap.VirtualServices {
		if !b.vsApplies(vs) {
			continue
		}
		var hosts []string
		for _, h := range vs.Spec.Hosts {
			vh := b.gatewayHost(h, vs.Namespace)
			for _, entry := range s.server.Hosts {
				sh, ok := hostAllowed(entry, s.gw.Namespace, vs.Namespace)
				if m := meet(vh, sh); ok && m != "" && !slices.Contains(hosts, m) {
					hosts = append(hosts, m)
				}
			}
		}
		if len(hosts) > 0 {
			out = append(out, boundVS{vs: vs, hosts: hosts})
		}
	}
	return out
}

type boundVS struct {
	vs    *model.VirtualService
	hosts []string
}
