package translate_test

//lint:file-ignore SA1019 the deprecated fields are what older gRPC clients read

import (
	"fmt"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// grpcJS1141 is grpc-js-xds 1.14.1's user agent (node.user_agent_name, user_agent_version).
var grpcJS1141 = userAgent{"gRPC Node Pure JS", "1.14.1"}

// jsProxyName is the fuzz targets' grpc-js 1.14.1 client, whose output must hold nothing grpc-js
// refuses.
const jsProxyName = "grpc-js 1.14.1 client"

// jsRefusals lists what grpc-js-xds 1.14.1 refuses a response for, among the fields the translator
// emits for a proxyless client, as its route-config, cluster and fault-filter parsers check them
// (restated from build/src/xds-resource-type and http-filter, independently of how the translator
// avoids them):
//   - a route action other than route (redirect, direct_response): "unsupported action";
//   - a header matcher outside exact, safe_regex, range, present, prefix, suffix and string_match
//     (contains_match is not read);
//   - weighted clusters whose weights sum to 0;
//   - a retry policy with num_retries 0, or a back-off without a base interval;
//   - a fault abort or delay without a percentage ("abort.percentage unset"), or a per-route filter
//     config of a type it does not know;
//   - an lb_policy other than ROUND_ROBIN and RING_HASH (XX_HASH, rings up to 8388608).
func jsRefusals(r *translate.Resources) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, rc := range r.Routes {
		for _, vh := range rc.VirtualHosts {
			for _, route := range vh.Routes {
				where := fmt.Sprintf("route config %s, route %q", rc.Name, route.Name)
				if route.GetRoute() == nil {
					add("%s: unsupported action %T", where, route.GetAction())
				}
				for _, hm := range route.GetMatch().GetHeaders() {
					if _, ok := hm.GetHeaderMatchSpecifier().(*routev3.HeaderMatcher_ContainsMatch); ok {
						add("%s: unsupported header_match_specifier contains_match for %q", where, hm.Name)
					}
				}
				if wc := route.GetRoute().GetWeightedClusters(); wc != nil {
					sum := uint64(0)
					for _, cw := range wc.Clusters {
						sum += uint64(cw.GetWeight().GetValue())
					}
					if sum == 0 {
						add("%s: weighted_clusters sum of weights is 0", where)
					}
				}
				if rp := route.GetRoute().GetRetryPolicy(); rp != nil {
					if rp.NumRetries != nil && rp.NumRetries.GetValue() < 1 {
						add("%s: retry policy num_retries 0", where)
					}
					if rp.RetryBackOff != nil && rp.RetryBackOff.BaseInterval == nil {
						add("%s: retry back-off without a base interval", where)
					}
				}
				for name, cfg := range route.GetTypedPerFilterConfig() {
					if !coreKnowsFilter(cfg) {
						add("%s: no filter registered for the config of %s (%s)", where, name, cfg.GetTypeUrl())
						continue
					}
					fault := &faultv3.HTTPFault{}
					if cfg.MessageIs(fault) {
						if err := cfg.UnmarshalTo(fault); err != nil {
							add("%s: %v", where, err)
						}
						if fault.Abort != nil && fault.Abort.Percentage == nil {
							add("%s: abort.percentage unset", where)
						}
						if fault.Delay != nil && fault.Delay.Percentage == nil {
							add("%s: delay.percentage unset", where)
						}
					}
				}
			}
		}
	}
	for _, c := range r.Clusters {
		switch c.LbPolicy {
		case clusterv3.Cluster_ROUND_ROBIN:
		case clusterv3.Cluster_RING_HASH:
			rh := c.GetRingHashLbConfig()
			if rh != nil && rh.HashFunction != clusterv3.Cluster_RingHashLbConfig_XX_HASH {
				add("cluster %s: unsupported ring_hash_lb_config.hash_function", c.Name)
			}
			if rh.GetMinimumRingSize().GetValue() > 8388608 || rh.GetMaximumRingSize().GetValue() > 8388608 {
				add("cluster %s: ring size too large", c.Name)
			}
		default:
			add("cluster %s: unsupported lb_policy %s", c.Name, c.LbPolicy)
		}
	}
	return out
}

// TestGRPCJSAcceptsEveryProxylessGolden: every proxyless golden case, translated for grpc-js 1.14.1,
// holds nothing grpc-js refuses, and neither does its warm-up route; routes that redirect or answer
// directly reach it as an abort with UNAVAILABLE, the status grpc-go and the C core give them.
func TestGRPCJSAcceptsEveryProxylessGolden(t *testing.T) {
	nonRoutes := 0
	tested := eachProxylessGolden(t, func(t *testing.T, in goldenInput, snap *model.Snapshot, proxy *model.Proxy) {
		res := translate.ForProxy(snap, grpcJS1141.on(*proxy), in.ListenerNames)
		for _, rc := range res.Routes {
			res.Routes = append(res.Routes, translate.WithWarmupRoute(rc, translate.RouteClusters(rc)))
		}
		for _, p := range jsRefusals(res) {
			t.Error(p)
		}
		// Where grpc-go is sent a redirect or a direct response, grpc-js gets the abort.
		goRoutes := translate.ForProxy(snap, grpcGo185.on(*proxy), in.ListenerNames).Routes
		for i, rc := range goRoutes {
			for j, vh := range rc.VirtualHosts {
				for k, r := range vh.Routes {
					if r.GetRoute() != nil {
						continue
					}
					nonRoutes++
					js := res.Routes[i].VirtualHosts[j].Routes[k]
					if !abortsUnavailable(t, js) || js.Name != r.Name || !proto.Equal(js.Match, r.Match) {
						t.Errorf("route %q (%T for grpc-go) should reach grpc-js with the same match, aborted with UNAVAILABLE: %v", r.Name, r.Action, js)
					}
				}
			}
		}
	})
	if tested < 5 || nonRoutes == 0 {
		t.Fatalf("only %d proxyless golden cases, %d routes that redirect or answer directly", tested, nonRoutes)
	}
}

// abortsUnavailable: the route's fault config aborts every RPC with UNAVAILABLE.
func abortsUnavailable(t *testing.T, r *routev3.Route) bool {
	t.Helper()
	fault := &faultv3.HTTPFault{}
	if err := r.GetTypedPerFilterConfig()["envoy.filters.http.fault"].UnmarshalTo(fault); err != nil {
		return false
	}
	p := fault.GetAbort().GetPercentage()
	return r.GetRoute().GetCluster() != "" && fault.GetAbort().GetGrpcStatus() == uint32(codes.Unavailable) &&
		p.GetNumerator() == 100 && p.GetDenominator() == typev3.FractionalPercent_HUNDRED
}
