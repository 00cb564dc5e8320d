package translate

//lint:file-ignore SA1019 the deprecated fields are the point: older gRPC clients read only them

import (
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// gRPC clients. Every gRPC implementation refuses a whole response for one field it does not know
// how to read, and they learned the newer forms of xDS at different releases. A proxyless client
// gets the forms its implementation and version (the node's user agent) are known to accept, and
// otherwise the older forms, which every gRPC accepts: the gRFCs keep them supported.
//
//   - Header matches. HeaderMatcher.string_match (gRFC A63) is read by grpc-go from 1.56 and by
//     the C core (C++, Python, Ruby, PHP) only after 1.51, which refuses it ("Invalid route header
//     matcher specified"). Other clients get exact_match, prefix_match and safe_regex_match, the
//     older oneof fields with the same meaning (Istio's header matches never ignore case, the one
//     thing string_match adds).
//   - Weighted clusters. The C core up to 1.51 and grpc-go before 1.55 refuse weights that do not
//     sum to total_weight, 100 when unset ("RouteAction weighted_cluster has incorrect total
//     weight"), and grpc-js-xds before 1.14.1 picks within it; Envoy and newer clients have
//     deprecated it for the sum of the weights. Other clients get total_weight set to that sum,
//     which the newer ones ignore.
//   - Least request. Cluster.lb_policy LEAST_REQUEST (gRFC A48) is read by grpc-go from 1.73 (by
//     default; earlier behind an environment variable); the C core refuses it at every version
//     ("LB policy is not supported"). Other clients get round robin, with a warning.
//
//   - Routes that redirect or answer directly. grpc-go and the C core fail the RPCs such a route
//     matches with UNAVAILABLE; grpc-js refuses the whole route config ("unsupported action"). It
//     gets the route as a route to the service's cluster with a fault that aborts every RPC with
//     UNAVAILABLE: the same outcome, in a form it reads. (grpc-js 1.14, the version the tests run.)
//   - Fault aborts. grpc-js refuses a route config whose fault abort has no percentage ("abort.
//     percentage unset"), which the others read as 0%: every gRPC client gets the 0% outright
//     (perFilterConfig). grpc-js reads the older header matchers but contains_match, which Istio's
//     matches never produce, and refuses LEAST_REQUEST like the C core.
//
// The C core gets the older forms at every version: which release first read string_match is not
// something the tests establish, and it reads the older forms at every release.

// grpcClient is what one proxyless client accepts, where gRPC implementations and versions differ.
type grpcClient struct {
	headerStringMatch bool // HeaderMatcher.string_match
	weightsAnySum     bool // weighted clusters summing to anything, without total_weight
	leastRequest      bool // LEAST_REQUEST in Cluster.lb_policy
	abortNonRoutes    bool // routes that redirect or answer directly sent as an UNAVAILABLE abort
}

// The implementations' node.user_agent_name.
const (
	grpcGoAgent = "gRPC Go"
	grpcJSAgent = "gRPC Node Pure JS" // @grpc/grpc-js-xds; its version is the plugin's
)

// grpcClientOf reads the proxy's user agent. Only grpc-go's versions change the forms it gets; every
// other client (the C core, grpc-java, grpc-js, one without a user agent) gets the older forms, and
// grpc-js its aborts for routes that are not routes.
func grpcClientOf(p *model.Proxy) grpcClient {
	if p.ClientName == grpcJSAgent {
		return grpcClient{abortNonRoutes: true}
	}
	if p.ClientName != grpcGoAgent {
		return grpcClient{}
	}
	major, minor, ok := releaseOf(p.ClientVersion)
	atLeast := func(m int) bool { return ok && (major > 1 || major == 1 && minor >= m) }
	return grpcClient{headerStringMatch: atLeast(56), weightsAnySum: atLeast(55), leastRequest: atLeast(73)}
}

// releaseOf reads "1.85.0", "v1.56.0-dev" or "1.51" as major and minor.
func releaseOf(version string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor, err1 == nil && err2 == nil
}

// key is the part of ViewKey that tells clients apart.
func (c grpcClient) key() string {
	flag := func(b bool) byte {
		if b {
			return '1'
		}
		return '0'
	}
	return string([]byte{flag(c.headerStringMatch), flag(c.weightsAnySum), flag(c.leastRequest), flag(c.abortNonRoutes)})
}

// adaptRoute rewrites a route config built for a gRPC client into the forms it accepts;
// serviceCluster is the cluster of the service it routes for.
func (c grpcClient) adaptRoute(rc *routev3.RouteConfiguration, serviceCluster string) {
	for _, vh := range rc.VirtualHosts {
		for _, r := range vh.Routes {
			if c.abortNonRoutes && r.GetRoute() == nil {
				abortAsUnavailable(r, serviceCluster)
			}
			if !c.headerStringMatch {
				for _, hm := range r.GetMatch().GetHeaders() {
					legacyHeaderMatch(hm)
				}
			}
			if wc := r.GetRoute().GetWeightedClusters(); wc != nil && !c.weightsAnySum {
				setTotalWeight(wc)
			}
		}
	}
}

// abortAsUnavailable turns a route that redirects or answers directly into one that fails every RPC
// it matches with UNAVAILABLE, before any backend is picked, as grpc-go and the C core fail them.
// The route keeps its match and name; it must route somewhere, so it names the service's cluster.
func abortAsUnavailable(r *routev3.Route, serviceCluster string) {
	r.Action = &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: serviceCluster},
	}}
	if r.TypedPerFilterConfig == nil {
		r.TypedPerFilterConfig = map[string]*anypb.Any{}
	}
	r.TypedPerFilterConfig[faultFilterName] = toAny(&faultv3.HTTPFault{Abort: &faultv3.FaultAbort{
		ErrorType:  &faultv3.FaultAbort_GrpcStatus{GrpcStatus: uint32(codes.Unavailable)},
		Percentage: &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED},
	}})
}

// legacyHeaderMatch moves a string_match into the older oneof field of the same meaning. A matcher
// with ignore_case, which they cannot say, stays as it is (the translator sets none).
func legacyHeaderMatch(hm *routev3.HeaderMatcher) {
	sm := hm.GetStringMatch()
	if sm == nil || sm.GetIgnoreCase() {
		return
	}
	switch p := sm.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_ExactMatch{ExactMatch: p.Exact}
	case *matcherv3.StringMatcher_Prefix:
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PrefixMatch{PrefixMatch: p.Prefix}
	case *matcherv3.StringMatcher_Suffix:
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_SuffixMatch{SuffixMatch: p.Suffix}
	case *matcherv3.StringMatcher_Contains:
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_ContainsMatch{ContainsMatch: p.Contains}
	case *matcherv3.StringMatcher_SafeRegex:
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_SafeRegexMatch{SafeRegexMatch: p.SafeRegex}
	}
}

// setTotalWeight says outright what the weights sum to. Weights of 0 do not count: gRPC skips those
// clusters before it adds up.
func setTotalWeight(wc *routev3.WeightedCluster) {
	sum := uint64(0)
	for _, cw := range wc.GetClusters() {
		sum += uint64(cw.GetWeight().GetValue())
	}
	if sum > 0 && sum <= 1<<32-1 {
		wc.TotalWeight = wrapperspb.UInt32(uint32(sum))
	}
}
