package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// routeConfigs builds route config "<port>" for every HTTP port and every port whose protocol is
// detected (sniffing.go): a virtual host per service on that port, whose routes are the
// VirtualService routes for it, then the default route to the service; last, the catch-all virtual
// host of the outbound traffic policy (outboundpolicy.go).
func (b *builder) routeConfigs() []*routev3.RouteConfiguration {
	var out []*routev3.RouteConfiguration
	ports := b.httpPorts()
	for _, p := range b.sniffedPorts() {
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	for _, port := range ports {
		rc := &routev3.RouteConfiguration{
			Name: strconv.FormatUint(uint64(port), 10),
			// As Istio: direct responses may carry up to 1 MiB (Envoy's default is 4 KiB).
			MaxDirectResponseBodySizeBytes: wrapperspb.UInt32(1 << 20),
		}
		for _, svc := range b.listenerServices(port) {
			if p, ok := svc.PortByNumber(port); ok && (p.Protocol.IsHTTP() || p.Protocol.Sniffed()) {
				rc.VirtualHosts = append(rc.VirtualHosts, b.serviceVirtualHost(rc.Name, svc, p))
			}
		}
		rc.VirtualHosts = append(rc.VirtualHosts, b.catchAllVirtualHost())
		out = append(out, rc)
	}
	return out
}

// virtualHost builds the virtual host "<fqdn>:<port>". extraDomains are names a gRPC client dialled.
func (b *builder) virtualHost(svc *model.Service, port model.Port, extraDomains []string) *routev3.VirtualHost {
	vh := &routev3.VirtualHost{
		Name:    virtualHostName(svc, port.Port),
		Domains: b.domains(svc, port.Port, extraDomains),
	}
	vh.Routes = b.serviceRoutes(svc, port)
	b.provenance.vhost(vh, serviceObject(svc))
	return vh
}

func virtualHostName(svc *model.Service, port uint32) string {
	return fmt.Sprintf("%s:%d", svc.Hostname, port)
}

// domains lists every name a client may use for the service, with and without the port, as Istio
// does: the FQDN, "name.ns.svc", "name.ns", the short name (from the proxy's own namespace only, where
// it resolves to this service) and the virtual IP.
func (b *builder) domains(svc *model.Service, port uint32, extra []string) []string {
	names := []string{svc.Hostname}
	suffix := ".svc." + b.snap.DomainSuffix
	if strings.HasSuffix(svc.Hostname, suffix) {
		nameNS := strings.TrimSuffix(svc.Hostname, suffix)
		names = append(names, nameNS+".svc", nameNS)
		if svc.Namespace == b.proxy.Namespace {
			names = append(names, svc.Name)
		}
	}
	if svc.Address != "" {
		names = append(names, svc.Address)
	}
	names = append(names, extra...)
	out := make([]string, 0, 2*len(names))
	p := ":" + strconv.FormatUint(uint64(port), 10)
	for _, n := range names {
		if host, _, found := strings.Cut(n, ":"); found {
			n = host
		}
		if !slices.Contains(out, n) {
			out = append(out, intern(n), intern(n+p))
		}
	}
	return out
}

// serviceRoutes are the routes of a service's virtual host: those of the VirtualService that routes
// it (see virtualServiceRoutes), or else the default route to the service.
func (b *builder) serviceRoutes(svc *model.Service, port model.Port) []*routev3.Route {
	if routes := b.virtualServiceRoutes(svc, port); len(routes) > 0 {
		return routes
	}
	return []*routev3.Route{b.defaultRoute(svc, port)}
}

func (b *builder) defaultRoute(svc *model.Service, port model.Port) *routev3.Route {
	cluster := ClusterName(port.Port, "", svc.Hostname)
	action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}
	b.routeDefaults(action)
	if hp := b.hashPolicy(svc, port.Port, ""); hp != nil {
		action.HashPolicy = hp
	}
	r := &routev3.Route{
		Name:   "default",
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: action},
	}
	b.provenance.route(r, serviceObject(svc))
	return r
}

// catchesAll says whether a route matches every request, so nothing after it is reachable.
func catchesAll(r *routev3.Route) bool {
	m := r.GetMatch()
	return m.GetPrefix() == "/" && len(m.GetHeaders()) == 0 && len(m.GetQueryParameters()) == 0 && m.GetRuntimeFraction() == nil
}
