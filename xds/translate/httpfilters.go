package translate

import (
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	faultcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/crds/validation"
)

// The HTTP filters a route's typed_per_filter_config names. A route can only configure a filter the
// connection manager runs, so the manager always has them, configured to do nothing by default.
const (
	faultFilterName  = "envoy.filters.http.fault"
	corsFilterName   = "envoy.filters.http.cors"
	routerFilterName = "envoy.filters.http.router"
)

func httpFilter(name string, config proto.Message) *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{Name: name, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(config)}}
}

// envoyHTTPFilters are a sidecar's filters, in Istio's order: fault, CORS, then the router, which
// must be last.
func envoyHTTPFilters() []*hcmv3.HttpFilter {
	return []*hcmv3.HttpFilter{
		httpFilter(faultFilterName, &faultv3.HTTPFault{}),
		httpFilter(corsFilterName, &corsv3.Cors{}),
		httpFilter(routerFilterName, &routerv3.Router{}),
	}
}

// grpcConnectionManager is the API listener's connection manager for a gRPC client, with only the
// filters grpc-go implements (as Istio's gRPC generator sends them): it refuses a listener naming a
// filter it does not know unless the filter is optional, and CORS means nothing to an RPC. Neither
// filter is marked optional: a client that silently skipped fault injection would pass a chaos test
// it never took.
func grpcConnectionManager(statPrefix, routeConfig string) *hcmv3.HttpConnectionManager {
	hcm := httpConnectionManager(statPrefix, routeConfig)
	hcm.HttpFilters = []*hcmv3.HttpFilter{
		httpFilter(faultFilterName, &faultv3.HTTPFault{}),
		httpFilter(routerFilterName, &routerv3.Router{}),
	}
	return hcm
}

// perFilterConfig is a route's fault and CORS configuration, keyed by filter name.
func (b *builder) perFilterConfig(hr *networking.HTTPRoute) map[string]*anypb.Any {
	out := map[string]*anypb.Any{}
	if f := faultConfig(hr.Fault); f != nil {
		if b.proxy.Proxyless && f.Abort != nil && f.Abort.Percentage == nil {
			// grpc-js refuses the whole route config for an abort without a percentage
			// ("abort.percentage unset"); 0% says the same (abort nothing) to every gRPC client.
			f.Abort.Percentage = &typev3.FractionalPercent{Denominator: typev3.FractionalPercent_HUNDRED}
		}
		out[faultFilterName] = toAny(f)
	}
	if hr.CorsPolicy != nil {
		out[corsFilterName] = toAny(corsPolicy(hr.CorsPolicy))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// faultConfig is Istio's translation of a fault: percentages in millionths (the old integer percent
// in hundredths), a gRPC status by its code. nil when there is nothing to inject.
func faultConfig(in *networking.HTTPFaultInjection) *faultv3.HTTPFault {
	if in == nil {
		return nil
	}
	out := &faultv3.HTTPFault{}
	if d := in.Delay; d != nil && d.FixedDelay != nil {
		out.Delay = &faultcommonv3.FaultDelay{
			FaultDelaySecifier: &faultcommonv3.FaultDelay_FixedDelay{FixedDelay: durationpb.New(d.FixedDelay.Duration)},
		}
		if d.Percentage != nil {
			out.Delay.Percentage = fractionOf(d.Percentage)
		} else {
			out.Delay.Percentage = &typev3.FractionalPercent{Numerator: uint32(max(d.Percent, 0)), Denominator: typev3.FractionalPercent_HUNDRED}
		}
	}
	if a := in.Abort; a != nil {
		abort := &faultv3.FaultAbort{}
		if a.Percentage != nil {
			abort.Percentage = fractionOf(a.Percentage) // left out, Envoy and gRPC abort nothing
		}
		code, isGRPC := validation.GRPCStatusCode(a.GRPCStatus)
		switch {
		case a.HTTPStatus != 0:
			abort.ErrorType = &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(a.HTTPStatus)}
			out.Abort = abort
		case isGRPC:
			abort.ErrorType = &faultv3.FaultAbort_GrpcStatus{GrpcStatus: code}
			out.Abort = abort
		}
	}
	if out.Delay == nil && out.Abort == nil {
		return nil
	}
	return out
}

// corsPolicy is Istio's translation of a CORS policy: always enabled, lists joined with commas, the
// max age in whole seconds, and preflights that match no origin forwarded unless told to ignore them.
func corsPolicy(in *networking.CorsPolicy) *corsv3.CorsPolicy {
	out := &corsv3.CorsPolicy{
		ForwardNotMatchingPreflights: wrapperspb.Bool(in.UnmatchedPreflights != "IGNORE"),
		FilterEnabled: &corev3.RuntimeFractionalPercent{
			DefaultValue: &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED},
		},
		AllowMethods:  strings.Join(in.AllowMethods, ","),
		AllowHeaders:  strings.Join(in.AllowHeaders, ","),
		ExposeHeaders: strings.Join(in.ExposeHeaders, ","),
	}
	if in.AllowOrigins != nil {
		for _, o := range in.AllowOrigins {
			if sm := stringMatcher(o); sm != nil {
				out.AllowOriginStringMatch = append(out.AllowOriginStringMatch, sm)
			}
		}
	} else {
		for _, o := range in.AllowOrigin { // the deprecated form: exact origins
			out.AllowOriginStringMatch = append(out.AllowOriginStringMatch, &matcherv3.StringMatcher{
				MatchPattern: &matcherv3.StringMatcher_Exact{Exact: o}})
		}
	}
	if in.AllowCredentials != nil {
		out.AllowCredentials = wrapperspb.Bool(*in.AllowCredentials)
	}
	if in.MaxAge != nil {
		out.MaxAge = strconv.FormatInt(int64(in.MaxAge.Seconds()), 10)
	}
	return out
}
