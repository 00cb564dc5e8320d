package translate

import (
	"maps"
	"slices"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// httpRule is one VirtualService HTTP route ready to translate, after delegation.
type httpRule struct {
	// vs is the VirtualService the route was written in: its destinations' short names resolve in
	// its namespace (a delegate's, for a delegated route).
	vs    *model.VirtualService
	route *networking.HTTPRoute
	// name is the route's name when it has none of its own.
	name string
	// where names the rule in warnings: "VirtualService ns/name http[2]".
	where string
}

// httpRoute translates one HTTP rule into Envoy routes: one per match block that applies to this
// proxy and port (blocks are ORed; conditions inside one are ANDed), or one catch-all route when the
// rule has no match.
func (b *builder) httpRoute(rule httpRule, port uint32) []*routev3.Route {
	hr := rule.route
	if b.proxy.Proxyless {
		hr = b.forGRPC(rule)
	}
	name := hr.Name
	if name == "" {
		name = rule.name
	}
	blocks := hr.Match
	if len(blocks) == 0 {
		blocks = []*networking.HTTPMatchRequest{nil}
	}
	template := &routev3.Route{Name: name}
	if !b.routeActionFor(template, rule, hr, port) {
		return nil
	}
	var out []*routev3.Route
	for _, m := range blocks {
		if m != nil && !b.matchApplies(m, port, rule.vs.Namespace) {
			continue
		}
		r := cloneRoute(template)
		r.Match = routeMatch(m)
		if m != nil && m.Name != "" {
			r.Name = name + "." + m.Name // Istio's route name for a named match
		}
		if m != nil {
			r.StatPrefix = m.StatPrefix
		}
		b.provenance.route(r, rule.vs.Meta)
		out = append(out, r)
	}
	return out
}

// routeActionFor sets what the route does (forward, redirect or answer directly) and what applies to
// every action: header operations and the fault and CORS filter configs. It returns false when the
// route must be left out.
func (b *builder) routeActionFor(r *routev3.Route, rule httpRule, hr *networking.HTTPRoute, port uint32) bool {
	ops := translateHeaders(hr.Headers)
	ops.applyToRoute(r)
	switch {
	case hr.Redirect != nil:
		action, ok := redirectAction(hr.Redirect, port)
		if !ok {
			b.warnOnce(rule.vs.Meta, ResourceRef{}, "%s: redirect code %d is not supported; route left out", rule.where, hr.Redirect.RedirectCode)
			return false
		}
		r.Action = action
	case hr.DirectResponse != nil:
		r.Action = directResponseAction(hr.DirectResponse)
	default:
		if !b.routeAction(r, rule, hr, ops.authority, port) {
			return false
		}
	}
	r.TypedPerFilterConfig = b.perFilterConfig(hr)
	return true
}

// matchApplies decides the per-proxy and per-port parts of a match block: the port, the source
// labels and namespace, and the gateways (a sidecar is "mesh"; see binding.go), written in namespace.
func (b *builder) matchApplies(m *networking.HTTPMatchRequest, port uint32, namespace string) bool {
	if m.Port != 0 && m.Port != port {
		return false
	}
	if !model.LabelsMatch(m.SourceLabels, b.proxy.Labels) {
		return false
	}
	if m.SourceNamespace != "" && m.SourceNamespace != b.proxy.Namespace {
		return false
	}
	return b.matchBound(m.Gateways, namespace)
}

// routeMatch translates a match block; nil (a rule without match) matches every request.
func routeMatch(m *networking.HTTPMatchRequest) *routev3.RouteMatch {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if m == nil {
		return rm
	}
	if u := m.URI; u != nil {
		switch {
		case u.Exact != nil:
			rm.PathSpecifier = &routev3.RouteMatch_Path{Path: *u.Exact}
		case u.Prefix != nil:
			rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: *u.Prefix}
		case u.Regex != nil:
			rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: *u.Regex}}
		}
	}
	if m.IgnoreURICase {
		rm.CaseSensitive = wrapperspb.Bool(false)
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.Headers[name], false))
	}
	for _, name := range slices.Sorted(maps.Keys(m.WithoutHeaders)) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.WithoutHeaders[name], true))
	}
	for _, pseudo := range []struct {
		name string
		m    *networking.StringMatch
	}{{":method", m.Method}, {":authority", m.Authority}, {":scheme", m.Scheme}} {
		if pseudo.m != nil {
			rm.Headers = append(rm.Headers, headerMatcher(pseudo.name, pseudo.m, false))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.QueryParams)) {
		qm := &routev3.QueryParameterMatcher{Name: name}
		if sm := valueMatcher(m.QueryParams[name]); sm != nil {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: sm}
		} else {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
		}
		rm.QueryParameters = append(rm.QueryParameters, qm)
	}
	return rm
}

// headerMatcher matches a header's value, or its presence. An inverted value match (withoutHeaders)
// takes a missing header as empty, as Istio sets it, so that a request without the header matches.
func headerMatcher(name string, m *networking.StringMatch, invert bool) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: name, InvertMatch: invert}
	if sm := valueMatcher(m); sm != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: sm}
		hm.TreatMissingHeaderAsEmpty = invert
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return hm
}

// valueMatcher is the matcher for a header or parameter value; nil means "present": a match with no
// condition ({}), or, as in Istio, the regex "*".
func valueMatcher(m *networking.StringMatch) *matcherv3.StringMatcher {
	if m != nil && m.Regex != nil && *m.Regex == "*" {
		return nil
	}
	return stringMatcher(m)
}

func stringMatcher(m *networking.StringMatch) *matcherv3.StringMatcher {
	switch {
	case m == nil:
		return nil
	case m.Exact != nil:
		return exactMatcher(*m.Exact)
	case m.Prefix != nil:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: *m.Prefix}}
	case m.Regex != nil:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{
			SafeRegex: &matcherv3.RegexMatcher{Regex: *m.Regex}}}
	}
	return nil
}

// routeAction makes the route forward: to one cluster or weighted clusters, with the rule's timeout,
// retries, rewrite, mirrors and per-destination headers. It returns false when the route leads
// nowhere it can be sent (every destination weighted 0). authority is a host rewrite asked for by the
// rule's header operations.
func (b *builder) routeAction(r *routev3.Route, rule httpRule, hr *networking.HTTPRoute, authority string, port uint32) bool {
	vs := rule.vs
	var dests []*networking.HTTPRouteDestination
	for _, d := range hr.Route {
		if d.Weight > 0 || len(hr.Route) == 1 {
			dests = append(dests, d)
		}
	}
	if len(dests) == 0 {
		b.warnOnce(vs.Meta, ResourceRef{}, "%s: no destination has a weight above 0; route left out", rule.where)
		return false
	}
	action := &routev3.RouteAction{}
	if len(dests) == 1 {
		action.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: b.destinationCluster(vs, dests[0].Destination, port)}
	} else {
		wc := &routev3.WeightedCluster{}
		for _, d := range dests {
			cw := &routev3.WeightedCluster_ClusterWeight{
				Name:   b.destinationCluster(vs, d.Destination, port),
				Weight: wrapperspb.UInt32(uint32(d.Weight)),
			}
			translateHeaders(d.Headers).applyToClusterWeight(cw)
			wc.Clusters = append(wc.Clusters, cw)
			if svc, p, subset, ok := b.resolveDestination(vs, d.Destination, port); ok {
				action.HashPolicy = append(action.HashPolicy, b.hashPolicy(svc, p, subset)...)
			}
		}
		action.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
	}
	b.routeDefaults(action)
	if hr.Timeout != nil {
		b.setTimeout(action, hr.Timeout.Duration)
	}
	applyRewrite(action, hr.Rewrite, &authority)
	if authority != "" {
		action.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: authority}
	}
	action.RequestMirrorPolicies = b.mirrorPolicies(vs, hr, port)
	consistentHash := false
	if len(dests) == 1 {
		// A single destination's header operations act on the route itself, after the rule's own.
		ops := translateHeaders(dests[0].Headers)
		ops.appendToRoute(r)
		if ops.authority != "" && action.HostRewriteSpecifier == nil {
			action.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: ops.authority}
		}
		if svc, p, subset, ok := b.resolveDestination(vs, dests[0].Destination, port); ok {
			action.HashPolicy = b.hashPolicy(svc, p, subset)
			consistentHash = action.HashPolicy != nil
		}
	}
	if hr.Retries != nil {
		action.RetryPolicy = retryPolicy(hr.Retries, consistentHash)
	} else if consistentHash && action.RetryPolicy != nil {
		action.RetryPolicy.RetryHostPredicate = nil // retrying on another host would break the stickiness
	}
	r.Action = &routev3.Route_Route{Route: action}
	return true
}

// routeDefaults sets what Istio sets on every route: no route timeout (Envoy's default is 15s, which
// would cut long requests) and, for Envoy sidecars, Istio's default retry policy.
func (b *builder) routeDefaults(action *routev3.RouteAction) {
	b.setTimeout(action, 0)
	if !b.proxy.Proxyless {
		action.RetryPolicy = defaultRetryPolicy()
	}
}

// setTimeout sets the route timeout; gRPC clients take it as the maximum stream duration.
func (b *builder) setTimeout(action *routev3.RouteAction, d time.Duration) {
	if b.proxy.Proxyless {
		if d > 0 {
			action.MaxStreamDuration = &routev3.RouteAction_MaxStreamDuration{MaxStreamDuration: durationpb.New(d)}
		}
		return
	}
	action.Timeout = durationpb.New(d)
}

// destinationCluster names the cluster a destination leads to. The port is the destination's, or the
// service's only port, or else the port the request came in on.
func (b *builder) destinationCluster(vs *model.VirtualService, d *networking.Destination, port uint32) string {
	svc, p, subset, ok := b.resolveDestination(vs, d, port)
	if !ok {
		host := b.snap.ResolveHost(d.Host, vs.Namespace)
		b.warnOnce(vs.Meta, ResourceRef{}, "VirtualService %s/%s: destination %s is not a known service (or has no port %d); its requests will fail",
			vs.Namespace, vs.Name, host, port)
		return ClusterName(port, d.Subset, host)
	}
	if subset != "" && !b.subsetDefined(svc, subset) {
		b.warnOnce(vs.Meta, ResourceRef{}, "VirtualService %s/%s: subset %q of %s is defined by no DestinationRule; its requests will fail",
			vs.Namespace, vs.Name, subset, svc.Hostname)
	}
	return ClusterName(p, subset, svc.Hostname)
}

func (b *builder) resolveDestination(vs *model.VirtualService, d *networking.Destination, port uint32) (*model.Service, uint32, string, bool) {
	host := b.snap.ResolveHost(d.Host, vs.Namespace)
	svc := b.service(host)
	if svc == nil || !b.snap.ServiceVisibleTo(svc, b.proxy.Namespace) {
		return nil, 0, "", false
	}
	switch {
	case d.Port != nil && d.Port.Number != 0:
		port = d.Port.Number
	case len(svc.Ports) == 1:
		port = svc.Ports[0].Port
	}
	if _, ok := svc.PortByNumber(port); !ok {
		return nil, 0, "", false
	}
	return svc, port, d.Subset, true
}

func (b *builder) subsetDefined(svc *model.Service, subset string) bool {
	return subsetNamed(b.destinationRule(svc), subset) != nil
}

// subsetNamed finds a DestinationRule's subset by name; nil when there is none of that name.
func subsetNamed(dr *model.DestinationRule, name string) *networking.Subset {
	if dr == nil || name == "" {
		return nil
	}
	for _, s := range dr.Spec.Subsets {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

func cloneRoute(r *routev3.Route) *routev3.Route { return proto.Clone(r).(*routev3.Route) }
