package translate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// fieldsMesh is the mesh every field test starts from: reviews (two HTTP ports, subsets v1 and v2)
// and ratings, seen from productpage; the VirtualService under test is added to it.
const fieldsMesh = `
services:
- {hostname: reviews.default.svc.cluster.local, name: reviews, namespace: default, address: 10.96.0.11, resolution: ClientSideLB, ports: [{name: http, port: 9080, protocol: HTTP}, {name: http-alt, port: 9081, protocol: HTTP}]}
- {hostname: ratings.default.svc.cluster.local, name: ratings, namespace: default, address: 10.96.0.12, resolution: ClientSideLB, ports: [{name: http, port: 9080, protocol: HTTP}]}
endpoints:
- {service: reviews.default.svc.cluster.local, servicePort: http, address: 10.1.0.21, port: 9080, ready: true, labels: {version: v1}}
- {service: reviews.default.svc.cluster.local, servicePort: http, address: 10.1.0.22, port: 9080, ready: true, labels: {version: v2}}
- {service: reviews.default.svc.cluster.local, servicePort: http-alt, address: 10.1.0.21, port: 9081, ready: true, labels: {version: v1}}
- {service: ratings.default.svc.cluster.local, servicePort: http, address: 10.1.0.31, port: 9080, ready: true}
destinationRules:
- name: reviews
  namespace: default
  spec:
    host: reviews
    subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
`

const (
	reviewsVHost = "reviews.default.svc.cluster.local:9080"
	grpcListener = "reviews.default.svc.cluster.local:9080"
)

// translateRule translates the mesh with a VirtualService for reviews whose single HTTP rule is built
// by rule, plus any extra VirtualServices, for a sidecar or a gRPC client.
func translateRule(t *testing.T, proxyless bool, vsSpec func(*networking.VirtualService), extra ...*model.VirtualService) *translate.Resources {
	t.Helper()
	var part model.Part
	if err := yaml.UnmarshalStrict([]byte(fieldsMesh), &part); err != nil {
		t.Fatal(err)
	}
	spec := &networking.VirtualService{
		Hosts: []string{"reviews"},
		HTTP: []*networking.HTTPRoute{{
			Name:  "r",
			Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews", Subset: "v1"}}},
		}},
	}
	vsSpec(spec)
	vs := &model.VirtualService{Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"}, Spec: spec}
	part.VirtualServices = append([]*model.VirtualService{vs}, extra...)
	proxy, err := model.ParseNodeID("sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	proxy.Labels, proxy.Proxyless = map[string]string{"app": "productpage"}, proxyless
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	return translate.ForProxy(snap, proxy, []string{grpcListener})
}

// firstRoute is the first route of reviews' virtual host on port 9080.
func firstRoute(t *testing.T, res *translate.Resources) *routev3.Route {
	t.Helper()
	for _, rc := range res.Routes {
		for _, vh := range rc.VirtualHosts {
			if vh.Name == reviewsVHost && len(vh.Routes) > 0 {
				return vh.Routes[0]
			}
		}
	}
	t.Fatalf("no route for %s; warnings: %v", reviewsVHost, res.Warnings)
	return nil
}

func rule(vs *networking.VirtualService) *networking.HTTPRoute { return vs.HTTP[0] }
func str(s string) *string                                     { return &s }
func dur(d time.Duration) *networking.Duration                 { return networking.NewDuration(d) }
func pct(v float64) *networking.Percent                        { return &networking.Percent{Value: v} }
func boolp(b bool) *bool                                       { return &b }

// fieldCase is one VirtualService field: set on top of base, it must change the route under test,
// and only in the part clear erases.
type fieldCase struct {
	field string
	base  func(*networking.VirtualService) // applied with and without the field
	set   func(*networking.VirtualService) // the field
	clear func(*routev3.Route)             // erases where the field may show
}

// Where a field may show.
var (
	clearMatch   = func(r *routev3.Route) { r.Match = nil }
	clearAction  = func(r *routev3.Route) { r.Action = nil }
	clearFilters = func(r *routev3.Route) { r.TypedPerFilterConfig = nil }
	clearHeaders = func(r *routev3.Route) {
		r.RequestHeadersToAdd, r.RequestHeadersToRemove, r.ResponseHeadersToAdd, r.ResponseHeadersToRemove = nil, nil, nil, nil
	}
	clearClusters = func(r *routev3.Route) { r.GetRoute().ClusterSpecifier = nil }
	clearMirrors  = func(r *routev3.Route) { r.GetRoute().RequestMirrorPolicies = nil }
	clearRetries  = func(r *routev3.Route) { r.GetRoute().RetryPolicy = nil }
	clearRewrite  = func(r *routev3.Route) {
		a := r.GetRoute()
		a.PrefixRewrite, a.RegexRewrite, a.HostRewriteSpecifier = "", nil, nil
	}
)

func weighted(vs *networking.VirtualService) {
	rule(vs).Route = []*networking.HTTPRouteDestination{
		{Destination: &networking.Destination{Host: "reviews", Subset: "v1"}, Weight: 70},
		{Destination: &networking.Destination{Host: "reviews", Subset: "v2"}, Weight: 30},
	}
}

func redirecting(vs *networking.VirtualService) {
	rule(vs).Route, rule(vs).Redirect = nil, &networking.HTTPRedirect{URI: "/moved"}
}

func answering(vs *networking.VirtualService) {
	rule(vs).Route, rule(vs).DirectResponse = nil, &networking.HTTPDirectResponse{Status: 503}
}

func faulty(vs *networking.VirtualService) {
	rule(vs).Fault = &networking.HTTPFaultInjection{
		Delay: &networking.Delay{FixedDelay: dur(time.Second), Percentage: pct(10)},
		Abort: &networking.Abort{HTTPStatus: 503, Percentage: pct(1)},
	}
}

func mirrored(vs *networking.VirtualService) {
	rule(vs).Mirror = &networking.Destination{Host: "ratings"}
}

func withCORS(vs *networking.VirtualService) {
	rule(vs).CorsPolicy = &networking.CorsPolicy{AllowOrigins: []*networking.StringMatch{{Exact: str("https://a.example")}}}
}

func retrying(vs *networking.VirtualService) { rule(vs).Retries = &networking.HTTPRetry{Attempts: 2} }

func matching(vs *networking.VirtualService) {
	rule(vs).Match = []*networking.HTTPMatchRequest{{URI: &networking.StringMatch{Prefix: str("/api")}}}
}

func headerOps(vs *networking.VirtualService) {
	rule(vs).Headers = &networking.Headers{Request: &networking.HeaderOperations{Set: map[string]string{"x-a": "1"}}}
}

func nothing(*networking.VirtualService) {}

func fieldCases() []fieldCase {
	m := func(f func(*networking.HTTPMatchRequest)) func(*networking.VirtualService) {
		return func(vs *networking.VirtualService) { f(rule(vs).Match[0]) }
	}
	return []fieldCase{
		{"match.uri.exact", matching, m(func(x *networking.HTTPMatchRequest) { x.URI = &networking.StringMatch{Exact: str("/api")} }), clearMatch},
		{"match.uri.prefix", matching, m(func(x *networking.HTTPMatchRequest) { x.URI.Prefix = str("/v2") }), clearMatch},
		{"match.uri.regex", matching, m(func(x *networking.HTTPMatchRequest) { x.URI = &networking.StringMatch{Regex: str("/a.*")} }), clearMatch},
		{"match.ignoreUriCase", matching, m(func(x *networking.HTTPMatchRequest) { x.IgnoreURICase = true }), clearMatch},
		{"match.headers", matching, m(func(x *networking.HTTPMatchRequest) {
			x.Headers = map[string]*networking.StringMatch{"end-user": {Exact: str("jason")}}
		}), clearMatch},
		{"match.headers regex *", matching, m(func(x *networking.HTTPMatchRequest) {
			x.Headers = map[string]*networking.StringMatch{"end-user": {Regex: str("*")}}
		}), clearMatch},
		{"match.withoutHeaders", matching, m(func(x *networking.HTTPMatchRequest) {
			x.WithoutHeaders = map[string]*networking.StringMatch{"x-canary": {Exact: str("1")}}
		}), clearMatch},
		{"match.queryParams", matching, m(func(x *networking.HTTPMatchRequest) {
			x.QueryParams = map[string]*networking.StringMatch{"debug": {}}
		}), clearMatch},
		{"match.method", matching, m(func(x *networking.HTTPMatchRequest) { x.Method = &networking.StringMatch{Exact: str("GET")} }), clearMatch},
		{"match.authority", matching, m(func(x *networking.HTTPMatchRequest) { x.Authority = &networking.StringMatch{Prefix: str("reviews")} }), clearMatch},
		{"match.scheme", matching, m(func(x *networking.HTTPMatchRequest) { x.Scheme = &networking.StringMatch{Exact: str("https")} }), clearMatch},
		{"match.name", matching, m(func(x *networking.HTTPMatchRequest) { x.Name = "api" }), func(r *routev3.Route) { r.Name = "" }},
		{"match.statPrefix", matching, m(func(x *networking.HTTPMatchRequest) { x.StatPrefix = "api" }), func(r *routev3.Route) { r.StatPrefix = "" }},
		{"name", nothing, func(vs *networking.VirtualService) { rule(vs).Name = "renamed" }, func(r *routev3.Route) { r.Name = "" }},
		{"route.destination.host", nothing, func(vs *networking.VirtualService) {
			rule(vs).Route[0].Destination = &networking.Destination{Host: "ratings"}
		}, clearClusters},
		{"route.destination.subset", nothing, func(vs *networking.VirtualService) { rule(vs).Route[0].Destination.Subset = "v2" }, clearClusters},
		{"route.destination.port", nothing, func(vs *networking.VirtualService) {
			rule(vs).Route[0].Destination.Port = &networking.PortSelector{Number: 9081}
		}, clearClusters},
		{"route.weight", weighted, func(vs *networking.VirtualService) { rule(vs).Route[0].Weight, rule(vs).Route[1].Weight = 40, 60 }, clearClusters},
		{"route.headers (weighted)", weighted, func(vs *networking.VirtualService) {
			rule(vs).Route[1].Headers = &networking.Headers{Request: &networking.HeaderOperations{Set: map[string]string{"x-subset": "v2"}}}
		}, clearClusters},
		{"route.headers (single)", nothing, func(vs *networking.VirtualService) {
			rule(vs).Route[0].Headers = &networking.Headers{Response: &networking.HeaderOperations{Add: map[string]string{"x-subset": "v1"}}}
		}, clearHeaders},
		{"redirect", nothing, redirecting, clearAction},
		{"redirect.uri", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.URI = "/elsewhere" }, clearAction},
		{"redirect.authority", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.Authority = "a.example" }, clearAction},
		{"redirect.port", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.Port = 8443 }, clearAction},
		{"redirect.derivePort", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.DerivePort = "FROM_REQUEST_PORT" }, clearAction},
		{"redirect.scheme", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.Scheme = "https" }, clearAction},
		{"redirect.redirectCode", redirecting, func(vs *networking.VirtualService) { rule(vs).Redirect.RedirectCode = 307 }, clearAction},
		{"directResponse", nothing, answering, clearAction},
		{"directResponse.status", answering, func(vs *networking.VirtualService) { rule(vs).DirectResponse.Status = 200 }, clearAction},
		{"directResponse.body.string", answering, func(vs *networking.VirtualService) {
			rule(vs).DirectResponse.Body = &networking.HTTPBody{String: str("down")}
		}, clearAction},
		{"directResponse.body.bytes", answering, func(vs *networking.VirtualService) {
			rule(vs).DirectResponse.Body = &networking.HTTPBody{Bytes: []byte{0, 1}}
		}, clearAction},
		{"rewrite.uri", nothing, func(vs *networking.VirtualService) { rule(vs).Rewrite = &networking.HTTPRewrite{URI: "/v2"} }, clearRewrite},
		{"rewrite.uriRegexRewrite", nothing, func(vs *networking.VirtualService) {
			rule(vs).Rewrite = &networking.HTTPRewrite{URIRegexRewrite: &networking.RegexRewrite{Match: "^/v1", Rewrite: "/v2"}}
		}, clearRewrite},
		{"rewrite.authority", nothing, func(vs *networking.VirtualService) {
			rule(vs).Rewrite = &networking.HTTPRewrite{Authority: "a.internal"}
		}, clearRewrite},
		{"timeout", nothing, func(vs *networking.VirtualService) { rule(vs).Timeout = dur(3 * time.Second) }, func(r *routev3.Route) { r.GetRoute().Timeout = nil }},
		{"retries", nothing, func(vs *networking.VirtualService) { rule(vs).Retries = &networking.HTTPRetry{Attempts: 0} }, clearRetries},
		{"retries.attempts", retrying, func(vs *networking.VirtualService) { rule(vs).Retries.Attempts = 5 }, clearRetries},
		{"retries.perTryTimeout", retrying, func(vs *networking.VirtualService) { rule(vs).Retries.PerTryTimeout = dur(time.Second) }, clearRetries},
		{"retries.retryOn", retrying, func(vs *networking.VirtualService) { rule(vs).Retries.RetryOn = "5xx,503" }, clearRetries},
		{"retries.retryRemoteLocalities", retrying, func(vs *networking.VirtualService) { rule(vs).Retries.RetryRemoteLocalities = boolp(true) }, clearRetries},
		{"fault.delay", nothing, func(vs *networking.VirtualService) {
			rule(vs).Fault = &networking.HTTPFaultInjection{Delay: &networking.Delay{FixedDelay: dur(time.Second), Percent: 5}}
		}, clearFilters},
		{"fault.delay.fixedDelay", faulty, func(vs *networking.VirtualService) { rule(vs).Fault.Delay.FixedDelay = dur(2 * time.Second) }, clearFilters},
		{"fault.delay.percentage", faulty, func(vs *networking.VirtualService) { rule(vs).Fault.Delay.Percentage = pct(20) }, clearFilters},
		{"fault.delay.percent", faulty, func(vs *networking.VirtualService) {
			rule(vs).Fault.Delay.Percentage, rule(vs).Fault.Delay.Percent = nil, 7
		}, clearFilters},
		{"fault.abort.httpStatus", faulty, func(vs *networking.VirtualService) { rule(vs).Fault.Abort.HTTPStatus = 500 }, clearFilters},
		{"fault.abort.grpcStatus", faulty, func(vs *networking.VirtualService) {
			rule(vs).Fault.Abort.HTTPStatus, rule(vs).Fault.Abort.GRPCStatus = 0, "UNAVAILABLE"
		}, clearFilters},
		{"fault.abort.percentage", faulty, func(vs *networking.VirtualService) { rule(vs).Fault.Abort.Percentage = pct(50) }, clearFilters},
		{"mirror", nothing, mirrored, clearMirrors},
		{"mirrorPercentage", mirrored, func(vs *networking.VirtualService) { rule(vs).MirrorPercentage = pct(12.5) }, clearMirrors},
		{"mirrorPercent", mirrored, func(vs *networking.VirtualService) { p := uint32(30); rule(vs).MirrorPercent = &p }, clearMirrors},
		{"mirrors", nothing, func(vs *networking.VirtualService) {
			rule(vs).Mirrors = []*networking.HTTPMirrorPolicy{{Destination: &networking.Destination{Host: "ratings"}, Percentage: pct(5)}}
		}, clearMirrors},
		{"corsPolicy", nothing, withCORS, clearFilters},
		{"corsPolicy.allowOrigins", withCORS, func(vs *networking.VirtualService) {
			rule(vs).CorsPolicy.AllowOrigins = append(rule(vs).CorsPolicy.AllowOrigins, &networking.StringMatch{Prefix: str("https://b")})
		}, clearFilters},
		{"corsPolicy.allowOrigin", withCORS, func(vs *networking.VirtualService) {
			rule(vs).CorsPolicy.AllowOrigins, rule(vs).CorsPolicy.AllowOrigin = nil, []string{"https://old.example"}
		}, clearFilters},
		{"corsPolicy.allowMethods", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.AllowMethods = []string{"GET"} }, clearFilters},
		{"corsPolicy.allowHeaders", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.AllowHeaders = []string{"x-a"} }, clearFilters},
		{"corsPolicy.exposeHeaders", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.ExposeHeaders = []string{"x-b"} }, clearFilters},
		{"corsPolicy.maxAge", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.MaxAge = dur(time.Hour) }, clearFilters},
		{"corsPolicy.allowCredentials", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.AllowCredentials = boolp(true) }, clearFilters},
		{"corsPolicy.unmatchedPreflights", withCORS, func(vs *networking.VirtualService) { rule(vs).CorsPolicy.UnmatchedPreflights = "IGNORE" }, clearFilters},
		{"headers.request.set", nothing, headerOps, clearHeaders},
		{"headers.request.add", headerOps, func(vs *networking.VirtualService) { rule(vs).Headers.Request.Add = map[string]string{"x-b": "2"} }, clearHeaders},
		{"headers.request.remove", headerOps, func(vs *networking.VirtualService) { rule(vs).Headers.Request.Remove = []string{"x-c"} }, clearHeaders},
		{"headers.request.set[:authority]", headerOps, func(vs *networking.VirtualService) {
			rule(vs).Headers.Request.Set[":authority"] = "a.internal"
		}, clearRewrite},
		{"headers.response.set", headerOps, func(vs *networking.VirtualService) {
			rule(vs).Headers.Response = &networking.HeaderOperations{Set: map[string]string{"cache-control": "no-store"}}
		}, clearHeaders},
		{"headers.response.add", headerOps, func(vs *networking.VirtualService) {
			rule(vs).Headers.Response = &networking.HeaderOperations{Add: map[string]string{"x-served-by": "r"}}
		}, clearHeaders},
		{"headers.response.remove", headerOps, func(vs *networking.VirtualService) {
			rule(vs).Headers.Response = &networking.HeaderOperations{Remove: []string{"server"}}
		}, clearHeaders},
	}
}

// TestEveryFieldChangesTheRoute: each field, set on top of a base rule, changes the route it belongs
// to, and nothing else: erasing where the field shows makes the two translations equal again.
func TestEveryFieldChangesTheRoute(t *testing.T) {
	for _, tc := range fieldCases() {
		t.Run(tc.field, func(t *testing.T) {
			without := translateRule(t, false, tc.base)
			with := translateRule(t, false, func(vs *networking.VirtualService) { tc.base(vs); tc.set(vs) })
			if len(with.Warnings) > 0 {
				t.Errorf("unexpected warnings: %v", with.Warnings)
			}
			if before, after := firstRoute(t, without), firstRoute(t, with); proto.Equal(before, after) {
				t.Fatalf("the field changed nothing in the route: %v", after)
			}
			// reviews has two ports: the rule applies on both.
			for _, res := range []*translate.Resources{without, with} {
				for _, rc := range res.Routes {
					for _, vh := range rc.VirtualHosts {
						if strings.HasPrefix(vh.Name, "reviews.") {
							tc.clear(vh.Routes[0])
						}
					}
				}
			}
			if diff := resourcesDiff(without, with); diff != "" {
				t.Errorf("the field changed more than expected: %s", diff)
			}
		})
	}
}

// resourcesDiff names the first resource that differs between two translations ("" when none does);
// warnings are not compared.
func resourcesDiff(a, b *translate.Resources) string {
	lists := [][2][]proto.Message{
		{msgs(a.Clusters), msgs(b.Clusters)}, {msgs(a.Endpoints), msgs(b.Endpoints)},
		{msgs(a.Listeners), msgs(b.Listeners)}, {msgs(a.Routes), msgs(b.Routes)},
	}
	for _, l := range lists {
		if len(l[0]) != len(l[1]) {
			return fmt.Sprintf("%d resources instead of %d", len(l[1]), len(l[0]))
		}
		for i := range l[0] {
			if !proto.Equal(l[0][i], l[1][i]) {
				return fmt.Sprintf("\nwithout: %s\nwith:    %s", prototext.Format(l[0][i]), prototext.Format(l[1][i]))
			}
		}
	}
	return ""
}

func msgs[T proto.Message](list []T) []proto.Message {
	out := make([]proto.Message, len(list))
	for i, m := range list {
		out[i] = m
	}
	return out
}

// TestFieldsThatSelectTheRule: a field that makes the rule not apply to this proxy or port leaves
// reviews with its default route.
func TestFieldsThatSelectTheRule(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(*networking.VirtualService)
	}{
		{"match.port", func(vs *networking.VirtualService) { matching(vs); rule(vs).Match[0].Port = 9081 }},
		{"match.sourceLabels", func(vs *networking.VirtualService) {
			matching(vs)
			rule(vs).Match[0].SourceLabels = map[string]string{"app": "ratings"}
		}},
		{"match.sourceNamespace", func(vs *networking.VirtualService) { matching(vs); rule(vs).Match[0].SourceNamespace = "other" }},
		{"match.gateways", func(vs *networking.VirtualService) {
			matching(vs)
			rule(vs).Match[0].Gateways = []string{"istio-system/ingress"}
		}},
		{"gateways", func(vs *networking.VirtualService) { vs.Gateways = []string{"istio-system/ingress"} }},
		{"exportTo", func(vs *networking.VirtualService) { vs.ExportTo = []string{"other"} }},
		{"hosts", func(vs *networking.VirtualService) { vs.Hosts = []string{"ratings"} }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			if got := firstRoute(t, translateRule(t, false, nothing)).Name; got != "r" {
				t.Fatalf("base: first route %q, want r", got)
			}
			if got := firstRoute(t, translateRule(t, false, tc.set)).Name; got != "default" {
				t.Errorf("with %s the VirtualService should not apply: first route %q, want default", tc.field, got)
			}
		})
	}
}

// TestDelegateField: a delegate replaces the rule by the delegate's rules, merged with it.
func TestDelegateField(t *testing.T) {
	delegate := &model.VirtualService{
		Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews-routes", Namespace: "default"},
		Spec: &networking.VirtualService{HTTP: []*networking.HTTPRoute{{
			Name:  "child",
			Match: []*networking.HTTPMatchRequest{{URI: &networking.StringMatch{Prefix: str("/api/v2")}}},
			Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews", Subset: "v2"}}},
		}}},
	}
	res := translateRule(t, false, func(vs *networking.VirtualService) {
		matching(vs)
		rule(vs).Timeout = dur(4 * time.Second)
		rule(vs).Route, rule(vs).Delegate = nil, &networking.Delegate{Name: "reviews-routes"}
	}, delegate)
	r := firstRoute(t, res)
	if r.Name != "r-child" || r.GetMatch().GetPrefix() != "/api/v2" || r.GetRoute().GetCluster() != "outbound|9080|v2|reviews.default.svc.cluster.local" ||
		r.GetRoute().GetTimeout().AsDuration() != 4*time.Second {
		t.Errorf("want the delegate's route r-child on /api/v2 to v2 with the parent's 4s timeout, got %v", r)
	}
}

// TestProxylessOmissions: for a gRPC client, a field grpc-go would refuse or ignore leaves the route
// as it was and says so in a warning naming the VirtualService and the field.
func TestProxylessOmissions(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(*networking.VirtualService)
	}{
		{"corsPolicy", withCORS},
		{"headers", headerOps},
		{"route.headers", func(vs *networking.VirtualService) {
			rule(vs).Route[0].Headers = &networking.Headers{Request: &networking.HeaderOperations{Set: map[string]string{"x": "1"}}}
		}},
		{"rewrite", func(vs *networking.VirtualService) { rule(vs).Rewrite = &networking.HTTPRewrite{URI: "/v2"} }},
		{"mirror", mirrored},
		{"mirror", func(vs *networking.VirtualService) {
			rule(vs).Mirrors = []*networking.HTTPMirrorPolicy{{Destination: &networking.Destination{Host: "ratings"}}}
		}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			without, with := translateRule(t, true, nothing), translateRule(t, true, tc.set)
			if diff := resourcesDiff(without, with); diff != "" {
				t.Errorf("the field should be left out for a gRPC client: %s", diff)
			}
			want := "VirtualService default/reviews http[0]." + tc.field + ":"
			if !slices.ContainsFunc(with.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
				t.Errorf("want a warning starting %q, got %v", want, with.Warnings)
			}
		})
	}
}

// TestProxylessKeepsWhatGRPCSupports: fault, timeout, retries and routing fields reach a gRPC client.
func TestProxylessKeepsWhatGRPCSupports(t *testing.T) {
	for _, tc := range fieldCases() {
		switch {
		case strings.HasPrefix(tc.field, "fault"), tc.field == "timeout", strings.HasPrefix(tc.field, "match.uri"),
			tc.field == "match.headers", tc.field == "route.weight", tc.field == "route.destination.subset":
		default:
			continue
		}
		t.Run(tc.field, func(t *testing.T) {
			without := translateRule(t, true, tc.base)
			with := translateRule(t, true, func(vs *networking.VirtualService) { tc.base(vs); tc.set(vs) })
			if proto.Equal(firstRoute(t, without), firstRoute(t, with)) {
				t.Errorf("the field changed nothing for a gRPC client")
			}
		})
	}
}
