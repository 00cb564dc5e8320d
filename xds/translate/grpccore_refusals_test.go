package translate_test

//lint:file-ignore SA1019 the deprecated fields are what the old core reads

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/minipilot/minipilot/xds/translate"
)

// coreRefusals lists what gRPC's C core 1.51 (Debian's python3-grpcio) refuses a response for, among
// the fields the translator emits for a proxyless client, as its xds_route_config, xds_cluster,
// xds_endpoint and xds_listener parsers check them (restated here, checked independently of how the
// translator avoids them):
//   - a header matcher in any form but exact, safe_regex, range, present, prefix, suffix, contains
//     (string_match came later): "Invalid route header matcher specified.";
//   - a route path other than prefix, path or safe_regex;
//   - weighted clusters whose nonzero weights do not sum to total_weight (100 when unset), with a
//     cluster without a weight or name, or none left;
//   - a retry policy with num_retries 0, or a back-off without a base interval;
//   - a per-route filter config of a type it does not know;
//   - an lb_policy other than ROUND_ROBIN and RING_HASH; a ring size outside 1..8388608, a minimum
//     above the maximum, or a hash function other than XX_HASH;
//   - outlier detection percentages above 100;
//   - an endpoint address twice in one priority, a port above 65535;
//   - an API listener whose connection manager does not end with the router, or whose RDS source is
//     not ADS.
func coreRefusals(r *translate.Resources) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, rc := range r.Routes {
		for _, vh := range rc.VirtualHosts {
			for _, route := range vh.Routes {
				for _, p := range routeRefusals(route) {
					add("route config %s, route %q: %s", rc.Name, route.Name, p)
				}
			}
		}
	}
	for _, c := range r.Clusters {
		for _, p := range clusterRefusals(c) {
			add("cluster %s: %s", c.Name, p)
		}
	}
	for _, cla := range r.Endpoints {
		for _, p := range endpointRefusals(cla) {
			add("endpoints %s: %s", cla.ClusterName, p)
		}
	}
	for _, l := range r.Listeners {
		hcm := &hcmv3.HttpConnectionManager{}
		if err := l.GetApiListener().GetApiListener().UnmarshalTo(hcm); err != nil {
			add("listener %s: no HttpConnectionManager: %v", l.Name, err)
			continue
		}
		filters := hcm.HttpFilters
		if len(filters) == 0 || filters[len(filters)-1].Name != "envoy.filters.http.router" {
			add("listener %s: the router must be the last HTTP filter", l.Name)
		}
		for _, f := range filters {
			if !coreKnowsFilter(f.GetTypedConfig()) {
				add("listener %s: unknown HTTP filter %s", l.Name, f.GetTypedConfig().GetTypeUrl())
			}
		}
		if src := hcm.GetRds().GetConfigSource(); src.GetAds() == nil && src.GetSelf() == nil {
			add("listener %s: the RDS config source is neither ADS nor self", l.Name)
		}
	}
	return out
}

func routeRefusals(route *routev3.Route) []string {
	var out []string
	m := route.GetMatch()
	switch m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix, *routev3.RouteMatch_Path, *routev3.RouteMatch_SafeRegex:
	default:
		out = append(out, "invalid route path specifier")
	}
	for _, hm := range m.GetHeaders() {
		switch hm.GetHeaderMatchSpecifier().(type) {
		case *routev3.HeaderMatcher_ExactMatch, *routev3.HeaderMatcher_SafeRegexMatch, *routev3.HeaderMatcher_RangeMatch,
			*routev3.HeaderMatcher_PresentMatch, *routev3.HeaderMatcher_PrefixMatch, *routev3.HeaderMatcher_SuffixMatch,
			*routev3.HeaderMatcher_ContainsMatch:
		default:
			out = append(out, fmt.Sprintf("invalid route header matcher for %q", hm.Name))
		}
	}
	for name, cfg := range route.GetTypedPerFilterConfig() {
		if !coreKnowsFilter(cfg) {
			out = append(out, fmt.Sprintf("no filter registered for the config of %s (%s)", name, cfg.GetTypeUrl()))
		}
	}
	action := route.GetRoute()
	if wc := action.GetWeightedClusters(); wc != nil {
		total, sum, kept := uint64(100), uint64(0), 0
		if wc.TotalWeight != nil {
			total = uint64(wc.TotalWeight.GetValue())
		}
		for _, cw := range wc.Clusters {
			if cw.Name == "" || cw.Weight == nil {
				out = append(out, "a weighted cluster without a name or a weight")
			}
			if w := cw.GetWeight().GetValue(); w > 0 {
				sum += uint64(w)
				kept++
			}
		}
		if sum != total {
			out = append(out, fmt.Sprintf("weighted cluster has incorrect total weight: %d, not %d", sum, total))
		}
		if kept == 0 {
			out = append(out, "weighted cluster has no valid clusters")
		}
	}
	if rp := action.GetRetryPolicy(); rp != nil {
		if rp.NumRetries != nil && rp.NumRetries.GetValue() == 0 {
			out = append(out, "retry policy num_retries 0")
		}
		if rp.RetryBackOff != nil && rp.RetryBackOff.BaseInterval == nil {
			out = append(out, "retry back-off without a base interval")
		}
	}
	return out
}

func clusterRefusals(c *clusterv3.Cluster) []string {
	var out []string
	switch c.LbPolicy {
	case clusterv3.Cluster_ROUND_ROBIN:
	case clusterv3.Cluster_RING_HASH:
		if rh := c.GetRingHashLbConfig(); rh != nil {
			lo, hi := uint64(1024), uint64(8388608)
			if rh.MinimumRingSize != nil {
				lo = rh.MinimumRingSize.GetValue()
			}
			if rh.MaximumRingSize != nil {
				hi = rh.MaximumRingSize.GetValue()
			}
			if lo < 1 || lo > 8388608 || hi < 1 || hi > 8388608 || lo > hi {
				out = append(out, fmt.Sprintf("ring size %d..%d outside 1..8388608", lo, hi))
			}
			if rh.HashFunction != clusterv3.Cluster_RingHashLbConfig_XX_HASH {
				out = append(out, "invalid hash function")
			}
		}
	default:
		out = append(out, fmt.Sprintf("LB policy %s is not supported", c.LbPolicy))
	}
	if od := c.OutlierDetection; od != nil {
		for name, v := range map[string]uint32{
			"max_ejection_percent": od.GetMaxEjectionPercent().GetValue(), "enforcing_success_rate": od.GetEnforcingSuccessRate().GetValue(),
			"enforcing_failure_percentage": od.GetEnforcingFailurePercentage().GetValue(), "failure_percentage_threshold": od.GetFailurePercentageThreshold().GetValue(),
		} {
			if v > 100 {
				out = append(out, fmt.Sprintf("outlier detection %s %d above 100", name, v))
			}
		}
	}
	return out
}

func endpointRefusals(cla *endpointv3.ClusterLoadAssignment) []string {
	var out []string
	seen := map[uint32]map[string]bool{} // priority → address:port
	for _, lle := range cla.Endpoints {
		if seen[lle.Priority] == nil {
			seen[lle.Priority] = map[string]bool{}
		}
		for _, lb := range lle.LbEndpoints {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if sa.GetPortValue() > 65535 {
				out = append(out, fmt.Sprintf("invalid port %d", sa.GetPortValue()))
			}
			key := fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())
			if seen[lle.Priority][key] {
				out = append(out, fmt.Sprintf("duplicate endpoint address %q in priority %d", key, lle.Priority))
			}
			seen[lle.Priority][key] = true
		}
	}
	return out
}

// coreKnowsFilter: the HTTP filters the core registers that the translator may configure.
func coreKnowsFilter(cfg *anypb.Any) bool {
	switch cfg.GetTypeUrl() {
	case "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
		"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router":
		return true
	}
	return false
}
