package translate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushosts "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previouspriorities "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// httpRoute translates one VirtualService HTTP route into Envoy routes: one per match block that
// applies to this proxy and port (blocks are ORed; conditions inside one are ANDed), or one catch-all
// route when the rule has no match.
func (b *builder) httpRoute(vs *model.VirtualService, index int, hr *networking.HTTPRoute, port uint32) []*routev3.Route {
	name := hr.Name
	if name == "" {
		name = fmt.Sprintf("%s.%s.%d", vs.Name, vs.Namespace, index)
	}
	var matches []*routev3.RouteMatch
	if len(hr.Match) == 0 {
		matches = append(matches, &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}})
	}
	for _, m := range hr.Match {
		if !b.matchApplies(m, port) {
			continue
		}
		matches = append(matches, routeMatch(m))
	}
	if len(matches) == 0 {
		return nil
	}
	template := &routev3.Route{Name: name}
	if !b.routeAction(template, vs, hr, port) {
		return nil
	}
	out := make([]*routev3.Route, 0, len(matches))
	for _, m := range matches {
		r := cloneRoute(template)
		r.Match = m
		out = append(out, r)
	}
	return out
}

// matchApplies decides the per-proxy and per-port parts of a match block: the port, the source
// labels and namespace, and the gateways (a sidecar is "mesh").
func (b *builder) matchApplies(m *networking.HTTPMatchRequest, port uint32) bool {
	if m.Port != 0 && m.Port != port {
		return false
	}
	if !model.LabelsMatch(m.SourceLabels, b.proxy.Labels) {
		return false
	}
	if m.SourceNamespace != "" && m.SourceNamespace != b.proxy.Namespace {
		return false
	}
	return len(m.Gateways) == 0 || slices.Contains(m.Gateways, "mesh")
}

func routeMatch(m *networking.HTTPMatchRequest) *routev3.RouteMatch {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
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
	for _, name := range sortedKeys(m.Headers) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.Headers[name], false))
	}
	for _, name := range sortedKeys(m.WithoutHeaders) {
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
	for _, name := range sortedKeys(m.QueryParams) {
		qm := &routev3.QueryParameterMatcher{Name: name}
		if sm := stringMatcher(m.QueryParams[name]); sm != nil {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: sm}
		} else {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
		}
		rm.QueryParameters = append(rm.QueryParameters, qm)
	}
	return rm
}

// headerMatcher matches a header's value; a match with no condition ({}) matches its presence.
func headerMatcher(name string, m *networking.StringMatch, invert bool) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: name, InvertMatch: invert}
	if sm := stringMatcher(m); sm != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: sm}
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return hm
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

// routeAction fills in what a route does. It returns false when the route leads nowhere it can be
// sent (every destination weighted 0).
func (b *builder) routeAction(r *routev3.Route, vs *model.VirtualService, hr *networking.HTTPRoute, port uint32) bool {
	var dests []*networking.HTTPRouteDestination
	for _, d := range hr.Route {
		if d.Weight > 0 || len(hr.Route) == 1 {
			dests = append(dests, d)
		}
	}
	if len(dests) == 0 {
		b.warnf("VirtualService %s/%s: route %q has no destination with a weight above 0; left out", vs.Namespace, vs.Name, r.Name)
		return false
	}
	action := &routev3.RouteAction{}
	if len(dests) == 1 {
		action.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: b.destinationCluster(vs, dests[0].Destination, port)}
	} else {
		wc := &routev3.WeightedCluster{}
		for _, d := range dests {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{
				Name:   b.destinationCluster(vs, d.Destination, port),
				Weight: wrapperspb.UInt32(uint32(d.Weight)),
			})
		}
		action.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
	}
	b.routeDefaults(action)
	if hr.Timeout != nil {
		b.setTimeout(action, hr.Timeout.Duration)
	}
	if hr.Retries != nil {
		action.RetryPolicy = retryPolicy(hr.Retries)
	}
	if len(dests) == 1 {
		if svc, p, subset, ok := b.resolveDestination(vs, dests[0].Destination, port); ok {
			action.HashPolicy = b.hashPolicy(svc, p, subset)
		}
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
		host := model.ResolveShortName(d.Host, vs.Namespace, b.snap.DomainSuffix)
		b.warnf("VirtualService %s/%s: destination %s is not a known service (or has no port %d); its requests will fail",
			vs.Namespace, vs.Name, host, port)
		return ClusterName(port, d.Subset, host)
	}
	if subset != "" && !b.subsetDefined(svc, subset) {
		b.warnf("VirtualService %s/%s: subset %q of %s is defined by no DestinationRule; its requests will fail",
			vs.Namespace, vs.Name, subset, svc.Hostname)
	}
	return ClusterName(p, subset, svc.Hostname)
}

func (b *builder) resolveDestination(vs *model.VirtualService, d *networking.Destination, port uint32) (*model.Service, uint32, string, bool) {
	host := model.ResolveShortName(d.Host, vs.Namespace, b.snap.DomainSuffix)
	svc := b.snap.Service(host)
	if svc == nil || !svc.VisibleTo(b.proxy.Namespace) {
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
	return subsetNamed(b.snap.DestinationRuleFor(b.proxy.Namespace, svc), subset) != nil
}

// subsetNamed finds a DestinationRule's subset by name; nil when there is none of that name.
func subsetNamed(dr *model.DestinationRule, name string) *networking.Subset {
	if dr == nil || name == "" {
		return nil
	}
	for _, s := range dr.Spec.Subsets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func cloneRoute(r *routev3.Route) *routev3.Route { return proto.Clone(r).(*routev3.Route) }

// istioRetryOn is Istio's default set of retry conditions.
const istioRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"

func defaultRetryPolicy() *routev3.RetryPolicy {
	return &routev3.RetryPolicy{
		RetryOn:    istioRetryOn,
		NumRetries: wrapperspb.UInt32(2),
		RetryHostPredicate: []*routev3.RetryPolicy_RetryHostPredicate{{
			Name: "envoy.retry_host_predicates.previous_hosts",
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{
				TypedConfig: toAny(&previoushosts.PreviousHostsPredicate{})},
		}},
		HostSelectionRetryMaxAttempts: 5,
	}
}

// retryPolicy converts a VirtualService retry policy; 0 attempts disables retries.
func retryPolicy(r *networking.HTTPRetry) *routev3.RetryPolicy {
	if r.Attempts == 0 {
		return nil
	}
	p := defaultRetryPolicy()
	p.NumRetries = wrapperspb.UInt32(uint32(r.Attempts))
	if r.RetryOn != "" {
		p.RetryOn = r.RetryOn
	}
	if r.PerTryTimeout != nil {
		p.PerTryTimeout = durationpb.New(r.PerTryTimeout.Duration)
	}
	if r.RetryRemoteLocalities != nil && *r.RetryRemoteLocalities {
		p.RetryPriority = &routev3.RetryPolicy_RetryPriority{
			Name: "envoy.retry_priorities.previous_priorities",
			ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{
				TypedConfig: toAny(&previouspriorities.PreviousPrioritiesConfig{UpdateFrequency: 2})},
		}
	}
	return p
}

// hashPolicy is the route side of a consistentHash load balancer: what to hash on.
func (b *builder) hashPolicy(svc *model.Service, port uint32, subset string) []*routev3.RouteAction_HashPolicy {
	dr := b.snap.DestinationRuleFor(b.proxy.Namespace, svc)
	if dr == nil {
		return nil
	}
	lb := effectivePolicy(dr, port, subsetNamed(dr, subset)).lb
	if lb == nil || lb.ConsistentHash == nil {
		return nil
	}
	ch := lb.ConsistentHash
	hp := &routev3.RouteAction_HashPolicy{}
	switch {
	case ch.HTTPHeaderName != "":
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_Header_{Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: strings.ToLower(ch.HTTPHeaderName)}}
	case ch.HTTPCookie != nil:
		c := &routev3.RouteAction_HashPolicy_Cookie{Name: ch.HTTPCookie.Name, Path: ch.HTTPCookie.Path}
		if ch.HTTPCookie.TTL != nil {
			c.Ttl = durationpb.New(ch.HTTPCookie.TTL.Duration)
		}
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_Cookie_{Cookie: c}
	case ch.UseSourceIP:
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}
	case ch.HTTPQueryParameterName != "":
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: ch.HTTPQueryParameterName}}
	default:
		return nil
	}
	return []*routev3.RouteAction_HashPolicy{hp}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
