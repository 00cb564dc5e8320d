package validation

import (
	"slices"
	"strings"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

var redirectCodes = []uint32{301, 302, 303, 307, 308}

// VirtualService validates a VirtualService spec.
func VirtualService(vs *networking.VirtualService) Result {
	var r Result
	spec := path("spec")
	if vs == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if len(vs.Hosts) == 0 {
		r.errorf(spec.f("hosts"), "at least one host is required")
	}
	for i, h := range vs.Hosts {
		r.host(spec.f("hosts").i(i), h, true)
		if h == "*" && len(vs.Gateways) == 0 {
			r.errorf(spec.f("hosts").i(i), "the host \"*\" is only allowed for gateways, not for sidecars (mesh)")
		}
	}
	if len(vs.HTTP) == 0 && len(vs.TCP) == 0 && len(vs.TLS) == 0 {
		r.errorf(spec, "at least one http, tcp or tls route is required")
	}
	for i, route := range vs.HTTP {
		r.httpRoute(spec.f("http").i(i), route)
	}
	for i, route := range vs.TCP {
		p := spec.f("tcp").i(i)
		for j, m := range route.Match {
			r.port(p.f("match").i(j).f("port"), m.Port)
			for k, subnet := range m.DestinationSubnets {
				r.cidr(p.f("match").i(j).f("destinationSubnets").i(k), subnet)
			}
		}
		r.routeDestinations(p.f("route"), route.Route)
	}
	for i, route := range vs.TLS {
		p := spec.f("tls").i(i)
		if len(route.Match) == 0 {
			r.errorf(p.f("match"), "a tls route needs at least one match with sniHosts")
		}
		for j, m := range route.Match {
			if len(m.SniHosts) == 0 {
				r.errorf(p.f("match").i(j).f("sniHosts"), "at least one SNI host is required")
			}
			for k, h := range m.SniHosts {
				r.host(p.f("match").i(j).f("sniHosts").i(k), h, true)
			}
			r.port(p.f("match").i(j).f("port"), m.Port)
		}
		r.routeDestinations(p.f("route"), route.Route)
	}
	return r
}

func (r *Result) routeDestinations(p path, dests []*networking.RouteDestination) {
	if len(dests) == 0 {
		r.errorf(p, "at least one destination is required")
	}
	weights := make([]int32, len(dests))
	for i, d := range dests {
		r.destination(p.i(i).f("destination"), d.Destination)
		weights[i] = d.Weight
	}
	r.weights(p, weights)
}

func (r *Result) httpRoute(p path, h *networking.HTTPRoute) {
	actions := 0
	for _, set := range []bool{len(h.Route) > 0, h.Redirect != nil, h.DirectResponse != nil, h.Delegate != nil} {
		if set {
			actions++
		}
	}
	switch {
	case actions == 0:
		r.errorf(p, "an http route needs one of route, redirect, directResponse or delegate")
	case actions > 1:
		r.errorf(p, "only one of route, redirect, directResponse and delegate may be set")
	}
	for i, m := range h.Match {
		r.httpMatch(p.f("match").i(i), m)
	}
	weights := make([]int32, len(h.Route))
	for i, d := range h.Route {
		r.destination(p.f("route").i(i).f("destination"), d.Destination)
		r.headers(p.f("route").i(i).f("headers"), d.Headers)
		weights[i] = d.Weight
	}
	r.weights(p.f("route"), weights)
	if rd := h.Redirect; rd != nil {
		if rd.RedirectCode != 0 && !slices.Contains(redirectCodes, rd.RedirectCode) {
			r.errorf(p.f("redirect").f("redirectCode"), "%d is not a redirect code (want one of 301, 302, 303, 307, 308)", rd.RedirectCode)
		}
		if rd.Port != 0 && rd.DerivePort != "" {
			r.errorf(p.f("redirect"), "only one of port and derivePort may be set")
		}
		if rd.DerivePort != "" && rd.DerivePort != "FROM_PROTOCOL_DEFAULT" && rd.DerivePort != "FROM_REQUEST_PORT" {
			r.errorf(p.f("redirect").f("derivePort"), "%q is not FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT", rd.DerivePort)
		}
		r.port(p.f("redirect").f("port"), rd.Port)
	}
	if dr := h.DirectResponse; dr != nil {
		if dr.Status < 200 || dr.Status > 599 {
			r.errorf(p.f("directResponse").f("status"), "status %d is outside 200..599", dr.Status)
		}
		if dr.Body != nil && dr.Body.String != nil && dr.Body.Bytes != nil {
			r.errorf(p.f("directResponse").f("body"), "only one of string and bytes may be set")
		}
	}
	if d := h.Delegate; d != nil && d.Name == "" {
		r.errorf(p.f("delegate").f("name"), "the delegate's name is required")
	}
	if rw := h.Rewrite; rw != nil {
		if rw.URI != "" && rw.URIRegexRewrite != nil {
			r.errorf(p.f("rewrite"), "only one of uri and uriRegexRewrite may be set")
		}
		if rr := rw.URIRegexRewrite; rr != nil {
			r.regex(p.f("rewrite").f("uriRegexRewrite").f("match"), rr.Match)
		}
	}
	r.duration(p.f("timeout"), h.Timeout, 0)
	if rt := h.Retries; rt != nil {
		if rt.Attempts < 0 {
			r.errorf(p.f("retries").f("attempts"), "attempts %d is negative", rt.Attempts)
		}
		r.duration(p.f("retries").f("perTryTimeout"), rt.PerTryTimeout, time.Millisecond)
		for _, cond := range strings.Split(rt.RetryOn, ",") {
			if cond = strings.TrimSpace(cond); cond == "" && rt.RetryOn != "" {
				r.errorf(p.f("retries").f("retryOn"), "%q has an empty condition", rt.RetryOn)
			}
		}
	}
	r.fault(p.f("fault"), h.Fault)
	if h.Mirror != nil {
		r.destination(p.f("mirror"), h.Mirror)
	}
	if h.MirrorPercent != nil && *h.MirrorPercent > 100 {
		r.errorf(p.f("mirrorPercent"), "percentage %d is outside 0..100", *h.MirrorPercent)
	}
	r.percent(p.f("mirrorPercentage"), h.MirrorPercentage)
	if h.Mirror != nil && len(h.Mirrors) > 0 {
		r.errorf(p, "only one of mirror and mirrors may be set")
	}
	for i, m := range h.Mirrors {
		r.destination(p.f("mirrors").i(i).f("destination"), m.Destination)
		r.percent(p.f("mirrors").i(i).f("percentage"), m.Percentage)
	}
	if c := h.CorsPolicy; c != nil {
		for i, o := range c.AllowOrigins {
			r.stringMatch(p.f("corsPolicy").f("allowOrigins").i(i), o)
		}
		r.duration(p.f("corsPolicy").f("maxAge"), c.MaxAge, 0)
	}
	r.headers(p.f("headers"), h.Headers)
}

func (r *Result) httpMatch(p path, m *networking.HTTPMatchRequest) {
	r.stringMatch(p.f("uri"), m.URI)
	r.stringMatch(p.f("scheme"), m.Scheme)
	r.stringMatch(p.f("method"), m.Method)
	r.stringMatch(p.f("authority"), m.Authority)
	for _, field := range []struct {
		name string
		m    map[string]*networking.StringMatch
	}{{"headers", m.Headers}, {"withoutHeaders", m.WithoutHeaders}, {"queryParams", m.QueryParams}} {
		for _, k := range sortedKeys(field.m) {
			if k == "" {
				r.errorf(p.f(field.name), "a name must not be empty")
			}
			r.stringMatch(p.f(field.name).k(k), field.m[k])
		}
	}
	r.port(p.f("port"), m.Port)
}

func (r *Result) headers(p path, h *networking.Headers) {
	if h == nil {
		return
	}
	for _, op := range []struct {
		name string
		ops  *networking.HeaderOperations
	}{{"request", h.Request}, {"response", h.Response}} {
		if op.ops == nil {
			continue
		}
		for _, section := range []struct {
			name string
			m    map[string]string
		}{{"set", op.ops.Set}, {"add", op.ops.Add}} {
			for _, k := range sortedKeys(section.m) {
				if k == "" || strings.ContainsAny(k, " :\t") && !strings.HasPrefix(k, ":") {
					r.errorf(p.f(op.name).f(section.name).k(k), "%q is not a valid header name", k)
				}
			}
		}
	}
}

func (r *Result) fault(p path, f *networking.HTTPFaultInjection) {
	if f == nil {
		return
	}
	if f.Delay == nil && f.Abort == nil {
		r.errorf(p, "a fault needs a delay or an abort")
	}
	if d := f.Delay; d != nil {
		if d.FixedDelay == nil && d.ExponentialDelay == nil {
			r.errorf(p.f("delay").f("fixedDelay"), "fixedDelay is required")
		}
		if d.ExponentialDelay != nil {
			r.errorf(p.f("delay").f("exponentialDelay"), "exponentialDelay is not supported (Istio does not implement it either)")
		}
		r.duration(p.f("delay").f("fixedDelay"), d.FixedDelay, time.Millisecond)
		r.percent(p.f("delay").f("percentage"), d.Percentage)
		if d.Percent < 0 || d.Percent > 100 {
			r.errorf(p.f("delay").f("percent"), "percentage %d is outside 0..100", d.Percent)
		}
	}
	if a := f.Abort; a != nil {
		switch {
		case a.HTTPStatus != 0 && a.GRPCStatus != "":
			r.errorf(p.f("abort"), "only one of httpStatus and grpcStatus may be set")
		case a.HTTPStatus == 0 && a.GRPCStatus == "" && a.HTTP2Error == "":
			r.errorf(p.f("abort"), "an abort needs httpStatus or grpcStatus")
		case a.HTTPStatus != 0 && (a.HTTPStatus < 200 || a.HTTPStatus > 599):
			r.errorf(p.f("abort").f("httpStatus"), "status %d is outside 200..599", a.HTTPStatus)
		case a.GRPCStatus != "":
			if _, ok := GRPCStatusCode(a.GRPCStatus); !ok {
				r.errorf(p.f("abort").f("grpcStatus"), "%q is not a gRPC status name such as UNAVAILABLE", a.GRPCStatus)
			}
		}
		if a.HTTP2Error != "" {
			r.errorf(p.f("abort").f("http2Error"), "http2Error is not supported (Istio does not implement it either)")
		}
		r.percent(p.f("abort").f("percentage"), a.Percentage)
	}
}

var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCStatusCode maps a gRPC status name ("UNAVAILABLE") to its code.
func GRPCStatusCode(name string) (uint32, bool) {
	i := slices.Index(grpcCodes, strings.ToUpper(name))
	return uint32(i), i >= 0
}
