package translate

import (
	"fmt"
	"slices"
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// gatewayRouteConfig builds the route config of HTTP servers: a virtual host per host where a bound
// VirtualService meets a server, with the routes of every such VirtualService, oldest first (on
// gateways Istio merges VirtualServices for a host). A route config with no virtual host answers 404
// to everything, as Istio's "blackhole" virtual host does.
func (b *builder) gatewayRouteConfig(name string, port uint32, servers []gatewayServer) *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{Name: name}
	byHost := map[string]*routev3.VirtualHost{}
	from := map[string][]*model.VirtualService{}
	for _, s := range servers {
		b.gateways = []string{s.name()}
		redirect := s.server.TLS != nil && s.server.TLS.HTTPSRedirect
		for _, bv := range b.boundVirtualServices(s) {
			routes := b.virtualServiceHTTPRoutes(bv.vs, port)
			if len(routes) == 0 {
				continue
			}
			for _, h := range bv.hosts {
				vh := byHost[h]
				if vh == nil {
					vh = &routev3.VirtualHost{Name: fmt.Sprintf("%s:%d", h, port), Domains: gatewayDomains(h)}
					b.provenance.vhost(vh, bv.vs.Meta)
					byHost[h] = vh
					rc.VirtualHosts = append(rc.VirtualHosts, vh)
				}
				if redirect {
					vh.RequireTls = routev3.VirtualHost_ALL
				}
				if slices.Contains(from[h], bv.vs) {
					continue
				}
				if n := len(vh.Routes); n > 0 && catchesAll(vh.Routes[n-1]) {
					b.warn(bv.vs.Meta, routeRef(name), "VirtualService %s/%s: its routes for %s on gateway %s can never match: VirtualService %s/%s takes every request first",
						bv.vs.Namespace, bv.vs.Name, h, s.name(), from[h][len(from[h])-1].Namespace, from[h][len(from[h])-1].Name)
					continue
				}
				from[h] = append(from[h], bv.vs)
				for _, r := range routes {
					c := cloneRoute(r)
					b.provenance.route(c, b.provenance.routes[r])
					vh.Routes = append(vh.Routes, c)
				}
			}
		}
	}
	b.gateways = nil
	slices.SortFunc(rc.VirtualHosts, func(x, y *routev3.VirtualHost) int { return strings.Compare(x.Name, y.Name) })
	if len(rc.VirtualHosts) == 0 {
		rc.VirtualHosts = []*routev3.VirtualHost{{
			Name:    fmt.Sprintf("blackhole:%d", port),
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:   "default",
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 404}},
			}},
		}}
	}
	return rc
}

// gatewayDomains are a gateway virtual host's domains: the host, and the host with any port, as Istio
// writes them.
func gatewayDomains(host string) []string {
	if host == "*" {
		return []string{"*"}
	}
	return []string{host, host + ":*"}
}

// passthroughChains are Istio's gateway TLS passthrough chains: one per tls match of a bound
// VirtualService, matching the SNI hosts it shares with the server.
func (b *builder) passthroughChains(s gatewayServer) []*listenerv3.FilterChain {
	port := s.server.Port.Number
	var out []*listenerv3.FilterChain
	handled := map[string]bool{}
	for _, bv := range b.boundVirtualServices(s) {
		for i, route := range bv.vs.Spec.TLS {
			for _, m := range route.Match {
				if !b.l4MatchApplies(bv.vs, m.Port, m.SourceLabels, m.SourceNamespace, m.Gateways, port) {
					continue
				}
				var sni []string
				for _, h := range m.SniHosts {
					for _, sh := range serverHosts(s.server) {
						if x := meet(h, sh); x != "" && !slices.Contains(sni, x) {
							sni = append(sni, x)
						}
					}
				}
				if len(sni) == 0 {
					continue
				}
				chain := l4Chain(sniHosts(sni), m.DestinationSubnets, nil)
				key := chainMatchKey(chain.FilterChainMatch)
				if handled[key] {
					continue
				}
				proxy := b.routeTCPProxy(bv.vs, fmt.Sprintf("tls[%d]", i), route.Route, port)
				if proxy == nil {
					continue
				}
				handled[key] = true
				chain.Filters = []*listenerv3.Filter{proxy}
				out = append(out, b.provenance.chain(chain, bv.vs.Meta))
			}
		}
	}
	if len(out) == 0 {
		b.warn(s.gw.Meta, ResourceRef{}, "Gateway %s: no tls route of a VirtualService bound to it matches the SNI hosts of its PASSTHROUGH server on port %d", s.name(), port)
	}
	return out
}

// gatewayTCPProxy is the first tcp route of a bound VirtualService that takes the server's port
// (Istio's buildGatewayNetworkFiltersFromTCPRoutes).
func (b *builder) gatewayTCPProxy(s gatewayServer) *listenerv3.Filter {
	port := s.server.Port.Number
	for _, bv := range b.boundVirtualServices(s) {
		for i, route := range bv.vs.Spec.TCP {
			applies := len(route.Match) == 0
			for _, m := range route.Match {
				applies = applies || b.l4MatchApplies(bv.vs, m.Port, m.SourceLabels, m.SourceNamespace, m.Gateways, port)
			}
			if !applies {
				continue
			}
			if proxy := b.routeTCPProxy(bv.vs, fmt.Sprintf("tcp[%d]", i), route.Route, port); proxy != nil {
				return proxy
			}
		}
	}
	return nil
}

// tlsVersions maps Istio's protocol version names to Envoy's.
var tlsVersions = map[string]tlsv3.TlsParameters_TlsProtocol{
	"TLS_AUTO": tlsv3.TlsParameters_TLS_AUTO,
	"TLSV1_0":  tlsv3.TlsParameters_TLSv1_0,
	"TLSV1_1":  tlsv3.TlsParameters_TLSv1_1,
	"TLSV1_2":  tlsv3.TlsParameters_TLSv1_2,
	"TLSV1_3":  tlsv3.TlsParameters_TLSv1_3,
}

// serverTLSContext terminates TLS with the server's certificate files. MUTUAL also requires a client
// certificate signed by caCertificates (and, if listed, carrying one of subjectAltNames). Like
// Istio, the minimum version defaults to TLS 1.2, and HTTPS servers offer h2 and http/1.1.
func serverTLSContext(t *networking.ServerTLSSettings, http bool) *tlsv3.DownstreamTlsContext {
	common := &tlsv3.CommonTlsContext{
		TlsCertificates: []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(t.ServerCertificate),
			PrivateKey:       fileSource(t.PrivateKey),
		}},
		TlsParams: &tlsv3.TlsParameters{
			TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2,
			CipherSuites:              t.CipherSuites,
		},
	}
	if v, ok := tlsVersions[t.MinProtocolVersion]; ok {
		common.TlsParams.TlsMinimumProtocolVersion = v
	}
	if v, ok := tlsVersions[t.MaxProtocolVersion]; ok {
		common.TlsParams.TlsMaximumProtocolVersion = v
	}
	if http {
		common.AlpnProtocols = []string{"h2", "http/1.1"}
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: common}
	if t.Mode == "MUTUAL" {
		ctx.RequireClientCertificate = wrapperspb.Bool(true)
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: fileSource(t.CaCertificates),
			//lint:ignore SA1019 any SAN type, as Istio matches them (see applyTLS)
			MatchSubjectAltNames: exactMatchers(t.SubjectAltNames),
		}}
	}
	return ctx
}
