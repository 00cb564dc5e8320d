package validation

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

var (
	redirectCodes = []uint32{301, 302, 303, 307, 308}
	// retryOnConditions are Envoy's retry conditions, HTTP and gRPC; HTTP status codes are accepted too.
	retryOnConditions = []string{"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
		"envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
		"http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}
	corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
	// headerName is an HTTP header name (RFC 7230 token), as Istio checks it.
	headerName = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9a-zA-Z]+$")
	// envoyFormatter is a command in a header value (%DOWNSTREAM_REMOTE_ADDRESS%, %REQ(x-y)%): Envoy
	// reads every header value as a format string and refuses a stray %.
	envoyFormatter = regexp.MustCompile(`^%[A-Z0-9_]+(\([^)]*\))?(:[0-9]+)?%`)
)

// maxDirectResponseBody is the largest direct response body routes allow, as in Istio.
const maxDirectResponseBody = 1 << 20

// VirtualService validates a VirtualService spec. One without hosts is a delegate: it is used only
// through another VirtualService's http delegate, and may have only http routes.
func VirtualService(vs *networking.VirtualService) Result {
	var r Result
	spec := path("spec")
	if vs == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if !r.noNulls(spec, vs) {
		return r
	}
	delegate := len(vs.Hosts) == 0
	if delegate {
		r.warnf(spec.f("hosts"), "no hosts: this is a delegate, which routes only what another VirtualService's http delegate sends it")
		if len(vs.Gateways) > 0 {
			r.errorf(spec.f("gateways"), "a delegate VirtualService (one without hosts) must have no gateways: it applies where the VirtualService delegating to it does")
		}
		if len(vs.TCP) > 0 || len(vs.TLS) > 0 {
			r.errorf(spec, "a delegate VirtualService (one without hosts) may have only http routes; add hosts to route tcp or tls")
		}
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
		r.httpRoute(spec.f("http").i(i), route, delegate)
	}
	for i, route := range vs.TCP {
		p := spec.f("tcp").i(i)
		for j, m := range route.Match {
			r.port(p.f("match").i(j).f("port"), m.Port)
			for k, subnet := range m.DestinationSubnets {
				r.cidr(p.f("match").i(j).f("destinationSubnets").i(k), subnet)
			}
			if m.SourceSubnet != "" {
				r.errorf(p.f("match").i(j).f("sourceSubnet"), "sourceSubnet is not implemented (Istio ignores it too); match on sourceLabels or destinationSubnets")
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
			for k, subnet := range m.DestinationSubnets {
				r.cidr(p.f("match").i(j).f("destinationSubnets").i(k), subnet)
			}
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

func (r *Result) httpRoute(p path, h *networking.HTTPRoute, inDelegate bool) {
	r.httpAction(p, h, inDelegate)
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
	r.redirect(p.f("redirect"), h.Redirect)
	r.directResponse(p.f("directResponse"), h.DirectResponse)
	if d := h.Delegate; d != nil {
		if d.Name == "" {
			r.errorf(p.f("delegate").f("name"), "the delegate's name is required")
		}
		if d.Namespace != "" && !dnsLabel.MatchString(d.Namespace) {
			r.errorf(p.f("delegate").f("namespace"), "%q is not a valid namespace name", d.Namespace)
		}
	}
	r.rewrite(p.f("rewrite"), h.Rewrite)
	r.authorityOnce(p, h)
	r.duration(p.f("timeout"), h.Timeout, 0)
	r.retries(p.f("retries"), h.Retries)
	r.fault(p.f("fault"), h.Fault)
	r.mirrors(p, h)
	r.cors(p.f("corsPolicy"), h.CorsPolicy)
	r.headers(p.f("headers"), h.Headers)
}

// httpAction checks that a route does one thing, and that what it sets applies to that thing.
func (r *Result) httpAction(p path, h *networking.HTTPRoute, inDelegate bool) {
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
	if inDelegate && h.Delegate != nil {
		r.errorf(p.f("delegate"), "a delegate VirtualService (one without hosts) cannot delegate again: Istio supports one level of delegation")
	}
	if h.Redirect == nil && h.DirectResponse == nil {
		return
	}
	kind := "redirect"
	if h.Redirect == nil {
		kind = "directResponse"
	}
	if h.Fault != nil {
		r.errorf(p.f("fault"), "fault injection does not apply to a route that answers with a %s (nothing is forwarded)", kind)
	}
	if h.Rewrite != nil {
		r.errorf(p.f("rewrite"), "a rewrite does not apply to a route that answers with a %s (nothing is forwarded)", kind)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"timeout", h.Timeout != nil}, {"retries", h.Retries != nil}, {"mirror", h.Mirror != nil}, {"mirrors", len(h.Mirrors) > 0}} {
		if f.set {
			r.warnf(p.f(f.name), "has no effect on a route that answers with a %s (nothing is forwarded)", kind)
		}
	}
}

func (r *Result) httpMatch(p path, m *networking.HTTPMatchRequest) {
	r.stringMatch(p.f("uri"), m.URI)
	if m.URI != nil && m.URI.Regex != nil && *m.URI.Regex == "" {
		r.errorf(p.f("uri").f("regex"), "the regex must not be empty")
	}
	for _, f := range []struct {
		name string
		m    *networking.StringMatch
	}{{"scheme", m.Scheme}, {"method", m.Method}, {"authority", m.Authority}} {
		r.valueMatch(p.f(f.name), f.m, false)
	}
	for _, field := range []struct {
		name string
		m    map[string]*networking.StringMatch
	}{{"headers", m.Headers}, {"withoutHeaders", m.WithoutHeaders}, {"queryParams", m.QueryParams}} {
		for _, k := range slices.Sorted(maps.Keys(field.m)) {
			switch {
			case k == "":
				r.errorf(p.f(field.name), "a name must not be empty")
			case strings.HasPrefix(k, "@request.auth.claims"):
				r.errorf(p.f(field.name).k(k), "routing on JWT claims is not supported by minipilot")
			case field.name != "queryParams" && !headerName.MatchString(k):
				r.errorf(p.f(field.name).k(k), "%q is not a valid header name", k)
			}
			r.valueMatch(p.f(field.name).k(k), field.m[k], true)
		}
	}
	r.port(p.f("port"), m.Port)
	if m.SourceNamespace != "" && !dnsLabel.MatchString(m.SourceNamespace) {
		r.errorf(p.f("sourceNamespace"), "%q is not a valid namespace name", m.SourceNamespace)
	}
}

// valueMatch checks a match on a header or parameter value: Envoy refuses an empty prefix or regex
// there. As in Istio, the regex "*" of a header or parameter means "present".
func (r *Result) valueMatch(p path, m *networking.StringMatch, presenceRegex bool) {
	if m == nil {
		return
	}
	if presenceRegex && m.Regex != nil && *m.Regex == "*" && m.Exact == nil && m.Prefix == nil {
		return
	}
	r.stringMatch(p, m)
	if m.Prefix != nil && *m.Prefix == "" {
		r.errorf(p.f("prefix"), "the prefix must not be empty")
	}
	if m.Regex != nil && *m.Regex == "" {
		r.errorf(p.f("regex"), "the regex must not be empty")
	}
}

func (r *Result) redirect(p path, rd *networking.HTTPRedirect) {
	if rd == nil {
		return
	}
	if rd.URI == "" && rd.Authority == "" && rd.Port == 0 && rd.DerivePort == "" && rd.Scheme == "" {
		r.errorf(p, "a redirect must change at least one of uri, authority, port, derivePort or scheme")
	}
	if rd.RedirectCode != 0 && !slices.Contains(redirectCodes, rd.RedirectCode) {
		r.errorf(p.f("redirectCode"), "%d is not a redirect code (want one of 301, 302, 303, 307, 308)", rd.RedirectCode)
	}
	if rd.Scheme != "" && rd.Scheme != "http" && rd.Scheme != "https" {
		r.errorf(p.f("scheme"), "%q is not http or https", rd.Scheme)
	}
	if rd.Port != 0 && rd.DerivePort != "" {
		r.errorf(p, "only one of port and derivePort may be set")
	}
	if rd.DerivePort != "" && rd.DerivePort != "FROM_PROTOCOL_DEFAULT" && rd.DerivePort != "FROM_REQUEST_PORT" {
		r.errorf(p.f("derivePort"), "%q is not FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT", rd.DerivePort)
	}
	r.port(p.f("port"), rd.Port)
	r.oneLine(p.f("authority"), rd.Authority)
	r.oneLine(p.f("uri"), rd.URI)
}

func (r *Result) directResponse(p path, dr *networking.HTTPDirectResponse) {
	if dr == nil {
		return
	}
	if dr.Status < 200 || dr.Status > 599 {
		r.errorf(p.f("status"), "status %d is outside 200..599", dr.Status)
	}
	if b := dr.Body; b != nil {
		if b.String != nil && b.Bytes != nil {
			r.errorf(p.f("body"), "only one of string and bytes may be set")
		}
		if size := len(b.Bytes) + len(ptrString(b.String)); size > maxDirectResponseBody {
			r.errorf(p.f("body"), "the body is %d bytes; at most %d (1 MiB) are allowed", size, maxDirectResponseBody)
		}
	}
}

func (r *Result) rewrite(p path, rw *networking.HTTPRewrite) {
	if rw == nil {
		return
	}
	if rw.URI != "" && rw.URIRegexRewrite != nil {
		r.errorf(p, "only one of uri and uriRegexRewrite may be set")
	}
	if rw.URI == "" && rw.URIRegexRewrite == nil && rw.Authority == "" {
		r.errorf(p, "a rewrite needs uri, uriRegexRewrite or authority")
	}
	if rr := rw.URIRegexRewrite; rr != nil {
		if rr.Match == "" || rr.Rewrite == "" {
			r.errorf(p.f("uriRegexRewrite"), "uriRegexRewrite needs both match and rewrite")
		}
		if rr.Match != "" {
			r.regex(p.f("uriRegexRewrite").f("match"), rr.Match)
		}
	}
	r.oneLine(p.f("uri"), rw.URI)
	r.oneLine(p.f("authority"), rw.Authority)
}

// authorityOnce refuses two rewrites of the authority: rewrite.authority and a request header
// operation on ":authority" or "Host" would fight over one value.
func (r *Result) authorityOnce(p path, h *networking.HTTPRoute) {
	var sources []string
	if h.Rewrite != nil && h.Rewrite.Authority != "" {
		sources = append(sources, "rewrite.authority")
	}
	if h.Headers != nil && h.Headers.Request != nil {
		for _, op := range []struct {
			name string
			m    map[string]string
		}{{"set", h.Headers.Request.Set}, {"add", h.Headers.Request.Add}} {
			for _, k := range slices.Sorted(maps.Keys(op.m)) {
				if isAuthority(k) {
					sources = append(sources, "headers.request."+op.name+"["+k+"]")
				}
			}
		}
	}
	if len(sources) > 1 {
		r.errorf(p, "the authority is rewritten more than once (%s); keep one", strings.Join(sources, ", "))
	}
}

func (r *Result) retries(p path, rt *networking.HTTPRetry) {
	if rt == nil {
		return
	}
	if rt.Attempts < 0 {
		r.errorf(p.f("attempts"), "attempts %d is negative", rt.Attempts)
	}
	if rt.Attempts == 0 && (rt.PerTryTimeout != nil || rt.RetryOn != "" || rt.RetryRemoteLocalities != nil) {
		r.errorf(p.f("attempts"), "attempts is 0, which disables retries, but other retry settings are given")
	}
	r.duration(p.f("perTryTimeout"), rt.PerTryTimeout, time.Millisecond)
	if rt.RetryOn == "" {
		return
	}
	for _, cond := range strings.Split(rt.RetryOn, ",") {
		cond = strings.TrimSpace(cond)
		n, err := strconv.Atoi(cond)
		switch {
		case cond == "":
			r.errorf(p.f("retryOn"), "%q has an empty condition", rt.RetryOn)
		case err == nil && (n < 100 || n > 599):
			r.errorf(p.f("retryOn"), "%d is not an HTTP status code", n)
		case err != nil && !slices.Contains(retryOnConditions, cond):
			r.errorf(p.f("retryOn"), "%q is not a retry condition (want HTTP status codes or %s)", cond, strings.Join(retryOnConditions, ", "))
		}
	}
}

func (r *Result) mirrors(p path, h *networking.HTTPRoute) {
	if h.Mirror != nil {
		r.destination(p.f("mirror"), h.Mirror)
	} else if h.MirrorPercent != nil || h.MirrorPercentage != nil {
		r.warnf(p.f("mirrorPercentage"), "has no effect without mirror")
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
}

func (r *Result) cors(p path, c *networking.CorsPolicy) {
	if c == nil {
		return
	}
	for i, o := range c.AllowOrigins {
		if ptrString(o.Exact) == "" && ptrString(o.Prefix) == "" && ptrString(o.Regex) == "" {
			r.errorf(p.f("allowOrigins").i(i), "an origin match needs a non-empty exact, prefix or regex")
			continue
		}
		r.stringMatch(p.f("allowOrigins").i(i), o)
	}
	if len(c.AllowOrigins) > 0 && len(c.AllowOrigin) > 0 {
		r.warnf(p.f("allowOrigin"), "is ignored: allowOrigins is set")
	}
	for i, m := range c.AllowMethods {
		if !slices.Contains(corsMethods, m) {
			r.errorf(p.f("allowMethods").i(i), "%q is not an HTTP method (want one of %s)", m, strings.Join(corsMethods, ", "))
		}
	}
	for _, list := range []struct {
		name  string
		names []string
	}{{"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for i, n := range list.names {
			if n != "*" && !headerName.MatchString(n) {
				r.errorf(p.f(list.name).i(i), "%q is not a valid header name", n)
			}
		}
	}
	r.duration(p.f("maxAge"), c.MaxAge, 0)
	if c.MaxAge != nil && c.MaxAge.Err() == nil && c.MaxAge.Duration%time.Second != 0 {
		r.errorf(p.f("maxAge"), "%s is not whole seconds (browsers take the max age in seconds)", c.MaxAge.Duration)
	}
	switch c.UnmatchedPreflights {
	case "", "UNSPECIFIED", "FORWARD", "IGNORE":
	default:
		r.errorf(p.f("unmatchedPreflights"), "%q is not FORWARD or IGNORE", c.UnmatchedPreflights)
	}
}

// headers checks header operations as Istio does: names are tokens; pseudo-headers and Host cannot
// be modified, except that setting or adding the request authority (":authority" or "Host") rewrites it.
func (r *Result) headers(p path, h *networking.Headers) {
	if h == nil {
		return
	}
	for _, op := range []struct {
		name    string
		ops     *networking.HeaderOperations
		request bool
	}{{"request", h.Request, true}, {"response", h.Response, false}} {
		if op.ops == nil {
			continue
		}
		for _, section := range []struct {
			name string
			m    map[string]string
		}{{"set", op.ops.Set}, {"add", op.ops.Add}} {
			for _, k := range slices.Sorted(maps.Keys(section.m)) {
				kp := p.f(op.name).f(section.name).k(k)
				if !(op.request && isAuthority(k)) {
					r.headerOperationName(kp, k)
				}
				r.headerValue(kp, section.m[k])
			}
		}
		for i, k := range op.ops.Remove {
			r.headerOperationName(p.f(op.name).f("remove").i(i), k)
		}
	}
}

func (r *Result) headerOperationName(p path, name string) {
	switch {
	case name == "":
		r.errorf(p, "a header name must not be empty")
	case strings.HasPrefix(name, ":") || strings.EqualFold(name, "host"):
		r.errorf(p, "%q cannot be modified (pseudo-headers and Host are Envoy's); to change the authority use rewrite.authority", name)
	case !headerName.MatchString(name):
		r.errorf(p, "%q is not a valid header name", name)
	}
}

// oneLine checks a value that ends up in a header (a path, an authority): no line breaks or NULs.
func (r *Result) oneLine(p path, v string) bool {
	if strings.ContainsAny(v, "\r\n\x00") {
		r.errorf(p, "%q must not contain line breaks or NUL", v)
		return false
	}
	return true
}

// headerValue checks a header operation's value, which Envoy reads as a format string: one line, and
// every % either doubled (%%) or part of a command such as %DOWNSTREAM_REMOTE_ADDRESS%.
func (r *Result) headerValue(p path, v string) {
	if !r.oneLine(p, v) {
		return
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			continue
		}
		if strings.HasPrefix(v[i:], "%%") {
			i++
			continue
		}
		cmd := envoyFormatter.FindString(v[i:])
		if cmd == "" {
			r.errorf(p, "%q has a stray %% at %d: Envoy reads %%...%% as a command; write a literal %% as %%%%", v, i)
			return
		}
		i += len(cmd) - 1
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
		if d.Percentage == nil && d.Percent == 0 {
			r.warnf(p.f("delay").f("percentage"), "is not set, so no request is delayed (as in Istio)")
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
		if a.Percentage == nil {
			r.warnf(p.f("abort").f("percentage"), "is not set, so no request is aborted (as in Istio)")
		}
	}
}

func isAuthority(name string) bool {
	return strings.EqualFold(name, ":authority") || strings.EqualFold(name, "host")
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCStatusCode maps a gRPC status name ("UNAVAILABLE") to its code.
func GRPCStatusCode(name string) (uint32, bool) {
	i := slices.Index(grpcCodes, strings.ToUpper(name))
	return uint32(i), i >= 0
}
