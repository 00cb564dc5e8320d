package translate

import (
	"cmp"
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/model"
)

// virtualServiceRoutes are the routes of the one VirtualService that routes a service on a port, or
// nil when none does. Istio merges VirtualServices for a host only on gateways; for sidecars (and gRPC
// clients, which get sidecar routes) the first VirtualService in precedence order that yields a route
// for this proxy and port wins, and the others are ignored for that host. Requests its routes do not
// match get no route (404 in Envoy, UNAVAILABLE in gRPC), as in Istio: there is no fallback route.
func (b *builder) virtualServiceRoutes(svc *model.Service, port model.Port) []*routev3.Route {
	candidates := b.meshVirtualServices(svc)
	for i, vs := range candidates {
		routes := b.virtualServiceHTTPRoutes(vs, port.Port)
		if len(routes) == 0 {
			continue
		}
		for _, other := range candidates[i+1:] {
			// A wildcard VirtualService giving way to one for the host itself is the point of wildcards.
			if len(other.Spec.HTTP) > 0 && b.namesHost(other, svc) {
				b.warnOnce(other.Meta, ResourceRef{}, "VirtualService %s/%s: its http routes for %s are ignored: VirtualService %s/%s routes that host first "+
					"(as in Istio, sidecars do not merge VirtualServices; put the routes in one)",
					other.Namespace, other.Name, svc.Hostname, vs.Namespace, vs.Name)
			}
		}
		return routes
	}
	return nil
}

// virtualServiceHTTPRoutes translates a VirtualService's HTTP rules for a port, up to the first route
// that catches every request: nothing after it could match.
func (b *builder) virtualServiceHTTPRoutes(vs *model.VirtualService, port uint32) []*routev3.Route {
	var out []*routev3.Route
	for _, rule := range b.httpRules(vs) {
		for _, r := range b.httpRoute(rule, port) {
			out = append(out, r)
			if catchesAll(r) {
				return out
			}
		}
	}
	return out
}

// meshVirtualServices lists the VirtualServices that may route a service for this proxy, in Istio's
// precedence: those private to the proxy's namespace, then those exported to it by name, then public
// ones, each oldest first. A VirtualService that covers the service only by a wildcard host counts
// only if its wildcard is the most specific one covering the service (the first, among equals).
func (b *builder) meshVirtualServices(svc *model.Service) []*model.VirtualService {
	type candidate struct {
		vs       *model.VirtualService
		rank     int
		exact    bool
		wildcard string // the longest wildcard host covering the service
	}
	var cands []candidate
	for _, vs := range b.virtualServicesFor(svc.Hostname) {
		if !b.vsApplies(vs) {
			continue
		}
		c := candidate{vs: vs, rank: b.precedence(vs)}
		for _, h := range vs.Spec.Hosts {
			host := b.snap.ResolveHost(h, vs.Namespace)
			switch {
			case host == svc.Hostname:
				c.exact = true
			case model.HostMatches(host, svc.Hostname) && len(host) > len(c.wildcard):
				c.wildcard = host
			}
		}
		cands = append(cands, c)
	}
	slices.SortStableFunc(cands, func(x, y candidate) int { return cmp.Compare(x.rank, y.rank) })
	var bestWildcard *model.VirtualService
	longest := ""
	for _, c := range cands {
		if len(c.wildcard) > len(longest) {
			bestWildcard, longest = c.vs, c.wildcard
		}
	}
	var out []*model.VirtualService
	for _, c := range cands {
		if c.exact || c.vs == bestWildcard {
			out = append(out, c.vs)
		}
	}
	return out
}

// precedence ranks a VirtualService visible to the proxy: 0 private to the proxy's namespace, 1
// exported to it by name, 2 public (no exportTo, or "*").
func (b *builder) precedence(vs *model.VirtualService) int {
	switch {
	case len(vs.Spec.ExportTo) == 0 || slices.Contains(vs.Spec.ExportTo, "*"):
		return 2
	case vs.Namespace == b.proxy.Namespace:
		return 0
	default:
		return 1
	}
}

// namesHost says whether a VirtualService names the service's host itself, not by a wildcard.
func (b *builder) namesHost(vs *model.VirtualService, svc *model.Service) bool {
	return slices.ContainsFunc(vs.Spec.Hosts, func(h string) bool {
		return model.ResolveShortName(h, vs.Namespace, b.snap.DomainSuffix) == svc.Hostname
	})
}
