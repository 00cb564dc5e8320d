package translate

import (
	"fmt"
	"maps"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// validateDeep runs a message's ValidateAll and that of every message the translator packs in an
// Any below it (filter configs, transport sockets, protocol options): ValidateAll leaves Anys alone,
// but Envoy checks their contents when it builds the filter, and refuses the resource. The Anys are
// looked for where this package puts them (anysIn), not by reflection over every field, which would
// double a translation's cost; the fuzz and golden tests check every Any of every output
// reflectively, so an Any put somewhere new and left unchecked here shows there.
func validateDeep(m proto.Message) error {
	if v, ok := m.(validated); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	for _, a := range anysIn(m) {
		if a == nil {
			continue
		}
		inner, err := a.UnmarshalNew()
		if err == nil {
			err = validateDeep(inner)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
	}
	return nil
}

// anysIn lists the Anys directly in m, and in the parts of m that hold Anys of their own, in a fixed
// order.
func anysIn(m proto.Message) []*anypb.Any {
	switch m := m.(type) {
	case *clusterv3.Cluster:
		return append(socketAny(m.TransportSocket), sortedAnys(m.TypedExtensionProtocolOptions)...)
	case *listenerv3.Listener:
		var out []*anypb.Any
		for _, f := range m.ListenerFilters {
			out = append(out, f.GetTypedConfig())
		}
		for _, c := range m.FilterChains {
			out = append(out, anysIn(c)...)
		}
		if m.DefaultFilterChain != nil {
			out = append(out, anysIn(m.DefaultFilterChain)...)
		}
		return append(out, m.GetApiListener().GetApiListener())
	case *listenerv3.FilterChain:
		out := socketAny(m.TransportSocket)
		for _, f := range m.Filters {
			out = append(out, f.GetTypedConfig())
		}
		return out
	case *hcmv3.HttpConnectionManager:
		var out []*anypb.Any
		for _, f := range m.HttpFilters {
			out = append(out, f.GetTypedConfig())
		}
		if rc := m.GetRouteConfig(); rc != nil {
			out = append(out, anysIn(rc)...)
		}
		return out
	case *routev3.RouteConfiguration:
		var out []*anypb.Any
		for _, vh := range m.VirtualHosts {
			out = append(out, anysIn(vh)...)
		}
		return out
	case *routev3.VirtualHost:
		out := sortedAnys(m.TypedPerFilterConfig)
		for _, r := range m.Routes {
			out = append(out, anysIn(r)...)
		}
		return out
	case *routev3.Route:
		out := sortedAnys(m.TypedPerFilterConfig)
		action := m.GetRoute()
		for _, wc := range action.GetWeightedClusters().GetClusters() {
			out = append(out, sortedAnys(wc.TypedPerFilterConfig)...)
		}
		if rp := action.GetRetryPolicy(); rp != nil {
			for _, p := range rp.RetryHostPredicate {
				out = append(out, p.GetTypedConfig())
			}
			out = append(out, rp.GetRetryPriority().GetTypedConfig())
		}
		return out
	}
	return nil
}

func socketAny(ts *corev3.TransportSocket) []*anypb.Any {
	if ts == nil {
		return nil
	}
	return []*anypb.Any{ts.GetTypedConfig()}
}

func sortedAnys(m map[string]*anypb.Any) []*anypb.Any {
	if len(m) == 0 {
		return nil
	}
	out := make([]*anypb.Any, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
