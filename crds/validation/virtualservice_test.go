package validation

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
)

// vsSpec decodes a VirtualService spec written in YAML, as users write it.
func vsSpec(t *testing.T, text string) *networking.VirtualService {
	t.Helper()
	var vs networking.VirtualService
	if err := yaml.UnmarshalStrict([]byte(text), &vs); err != nil {
		t.Fatalf("bad test spec: %v\n%s", err, text)
	}
	return &vs
}

// route is a VirtualService for reviews with one http route, given as YAML lines of the route.
func route(lines ...string) string {
	return "hosts: [reviews]\nhttp:\n- " + strings.Join(lines, "\n  ") + "\n"
}

const toReviews = "route: [{destination: {host: reviews}}]"

func TestVirtualServiceRefusals(t *testing.T) {
	cases := []struct {
		name, spec, field, reason string
	}{
		{"weights not summing to 100",
			route("route:", "- {destination: {host: reviews, subset: v1}, weight: 60}", "- {destination: {host: reviews, subset: v2}, weight: 30}"),
			"spec.http[0].route", "add up to 90, not 100"},
		{"weight above 100",
			route("route:", "- {destination: {host: reviews, subset: v1}, weight: 150}", "- {destination: {host: reviews, subset: v2}, weight: -50}"),
			"spec.http[0].route[0].weight", "outside 0..100"},
		{"negative weight",
			route("route:", "- {destination: {host: reviews, subset: v1}, weight: 150}", "- {destination: {host: reviews, subset: v2}, weight: -50}"),
			"spec.http[0].route[1].weight", "outside 0..100"},
		{"invalid uri regex", route(toReviews, "match: [{uri: {regex: '/a(b'}}]"),
			"spec.http[0].match[0].uri.regex", "not a valid RE2 regular expression"},
		{"invalid header regex", route(toReviews, "match: [{headers: {x-user: {regex: '[a-'}}}]"),
			"spec.http[0].match[0].headers[x-user].regex", "not a valid RE2"},
		{"empty header prefix", route(toReviews, "match: [{headers: {x-user: {prefix: ''}}}]"),
			"spec.http[0].match[0].headers[x-user].prefix", "must not be empty"},
		{"invalid header name", route(toReviews, "match: [{headers: {'x user': {exact: a}}}]"),
			"spec.http[0].match[0].headers[x user]", "not a valid header name"},
		{"malformed timeout", route(toReviews, "timeout: 3 seconds"),
			"spec.http[0].timeout", "is not a duration"},
		{"negative timeout", route(toReviews, "timeout: -1s"),
			"spec.http[0].timeout", "negative"},
		{"per-try timeout below 1ms", route(toReviews, "retries: {attempts: 2, perTryTimeout: 100us}"),
			"spec.http[0].retries.perTryTimeout", "shorter than the minimum"},
		{"negative retry attempts", route(toReviews, "retries: {attempts: -1}"),
			"spec.http[0].retries.attempts", "negative"},
		{"retry settings with 0 attempts", route(toReviews, "retries: {attempts: 0, retryOn: 5xx}"),
			"spec.http[0].retries.attempts", "disables retries"},
		{"unknown retry condition", route(toReviews, "retries: {attempts: 2, retryOn: 'connect-failure,sometimes'}"),
			"spec.http[0].retries.retryOn", `"sometimes" is not a retry condition`},
		{"redirect code", route("redirect: {uri: /v2, redirectCode: 305}"),
			"spec.http[0].redirect.redirectCode", "305 is not a redirect code"},
		{"redirect changes nothing", route("redirect: {redirectCode: 302}"),
			"spec.http[0].redirect", "must change at least one"},
		{"redirect scheme", route("redirect: {scheme: ftp}"),
			"spec.http[0].redirect.scheme", "not http or https"},
		{"redirect port and derivePort", route("redirect: {port: 8080, derivePort: FROM_REQUEST_PORT}"),
			"spec.http[0].redirect", "only one of port and derivePort"},
		{"direct response status", route("directResponse: {status: 700}"),
			"spec.http[0].directResponse.status", "outside 200..599"},
		{"abort http status", route(toReviews, "fault: {abort: {httpStatus: 99, percentage: {value: 10}}}"),
			"spec.http[0].fault.abort.httpStatus", "outside 200..599"},
		{"abort grpc status", route(toReviews, "fault: {abort: {grpcStatus: NOT_A_STATUS}}"),
			"spec.http[0].fault.abort.grpcStatus", "not a gRPC status name"},
		{"abort with both statuses", route(toReviews, "fault: {abort: {httpStatus: 503, grpcStatus: UNAVAILABLE}}"),
			"spec.http[0].fault.abort", "only one of httpStatus and grpcStatus"},
		{"abort percentage", route(toReviews, "fault: {abort: {httpStatus: 503, percentage: {value: 101}}}"),
			"spec.http[0].fault.abort.percentage.value", "outside 0..100"},
		{"delay percentage", route(toReviews, "fault: {delay: {fixedDelay: 1s, percentage: {value: -1}}}"),
			"spec.http[0].fault.delay.percentage.value", "outside 0..100"},
		{"delay without fixedDelay", route(toReviews, "fault: {delay: {percentage: {value: 5}}}"),
			"spec.http[0].fault.delay.fixedDelay", "fixedDelay is required"},
		{"zero fixed delay", route(toReviews, "fault: {delay: {fixedDelay: 0s, percentage: {value: 5}}}"),
			"spec.http[0].fault.delay.fixedDelay", "shorter than the minimum"},
		{"mirror percentage", route(toReviews, "mirror: {host: ratings}", "mirrorPercentage: {value: 200}"),
			"spec.http[0].mirrorPercentage.value", "outside 0..100"},
		{"mirror percent", route(toReviews, "mirror: {host: ratings}", "mirrorPercent: 101"),
			"spec.http[0].mirrorPercent", "outside 0..100"},
		{"mirrors percentage", route(toReviews, "mirrors: [{destination: {host: ratings}, percentage: {value: 100.5}}]"),
			"spec.http[0].mirrors[0].percentage.value", "outside 0..100"},
		{"route and redirect", route(toReviews, "redirect: {uri: /v2}"),
			"spec.http[0]", "only one of route, redirect, directResponse and delegate"},
		{"redirect and direct response", route("redirect: {uri: /v2}", "directResponse: {status: 200}"),
			"spec.http[0]", "only one of route, redirect"},
		{"no action", route("timeout: 1s"),
			"spec.http[0]", "needs one of route, redirect, directResponse or delegate"},
		{"fault on a redirect", route("redirect: {uri: /v2}", "fault: {abort: {httpStatus: 503}}"),
			"spec.http[0].fault", "does not apply to a route that answers with a redirect"},
		{"rewrite on a direct response", route("directResponse: {status: 204}", "rewrite: {uri: /v2}"),
			"spec.http[0].rewrite", "does not apply to a route that answers with a directResponse"},
		{"rewrite uri and regex", route(toReviews, "rewrite: {uri: /v2, uriRegexRewrite: {match: '^/v1', rewrite: /v2}}"),
			"spec.http[0].rewrite", "only one of uri and uriRegexRewrite"},
		{"rewrite regex invalid", route(toReviews, "rewrite: {uriRegexRewrite: {match: '(', rewrite: /v2}}"),
			"spec.http[0].rewrite.uriRegexRewrite.match", "not a valid RE2"},
		{"rewrite regex half", route(toReviews, "rewrite: {uriRegexRewrite: {match: '^/v1'}}"),
			"spec.http[0].rewrite.uriRegexRewrite", "needs both match and rewrite"},
		{"empty rewrite", route(toReviews, "rewrite: {}"),
			"spec.http[0].rewrite", "needs uri, uriRegexRewrite or authority"},
		{"authority rewritten twice", route(toReviews, "rewrite: {authority: a.example}", "headers: {request: {set: {host: b.example}}}"),
			"spec.http[0]", "authority is rewritten more than once"},
		{"delegate with hosts delegating again", "http:\n- delegate: {name: deeper}\n",
			"spec.http[0].delegate", "cannot delegate again"},
		{"delegate with gateways", "gateways: [mesh]\nhttp:\n- " + toReviews + "\n",
			"spec.gateways", "must have no gateways"},
		{"delegate with tcp", "http:\n- " + toReviews + "\ntcp:\n- route: [{destination: {host: reviews}}]\n",
			"spec", "may have only http routes"},
		{"delegate without name", route("delegate: {namespace: team}"),
			"spec.http[0].delegate.name", "name is required"},
		{"response header on Host", route(toReviews, "headers: {response: {set: {Host: x}}}"),
			"spec.http[0].headers.response.set[Host]", "cannot be modified"},
		{"remove a pseudo-header", route(toReviews, "headers: {request: {remove: [':path']}}"),
			"spec.http[0].headers.request.remove[0]", "cannot be modified"},
		{"stray percent in a header value", route(toReviews, "headers: {request: {set: {x-load: 100%}}}"),
			"spec.http[0].headers.request.set[x-load]", "stray %"},
		{"destination header name", route("route: [{destination: {host: reviews}, headers: {request: {add: {'bad name': x}}}}]"),
			"spec.http[0].route[0].headers.request.add[bad name]", "not a valid header name"},
		{"cors method", route(toReviews, "corsPolicy: {allowMethods: [GET, FETCH]}"),
			"spec.http[0].corsPolicy.allowMethods[1]", `"FETCH" is not an HTTP method`},
		{"cors empty origin", route(toReviews, "corsPolicy: {allowOrigins: [{exact: ''}]}"),
			"spec.http[0].corsPolicy.allowOrigins[0]", "non-empty exact, prefix or regex"},
		{"cors origin regex", route(toReviews, "corsPolicy: {allowOrigins: [{regex: 'https://(a'}]}"),
			"spec.http[0].corsPolicy.allowOrigins[0].regex", "not a valid RE2"},
		{"cors max age precision", route(toReviews, "corsPolicy: {maxAge: 1500ms}"),
			"spec.http[0].corsPolicy.maxAge", "not whole seconds"},
		{"cors unmatched preflights", route(toReviews, "corsPolicy: {unmatchedPreflights: DROP}"),
			"spec.http[0].corsPolicy.unmatchedPreflights", "not FORWARD or IGNORE"},
		{"jwt claim routing", route(toReviews, "match: [{headers: {'@request.auth.claims.group': {exact: a}}}]"),
			"spec.http[0].match[0].headers[@request.auth.claims.group]", "JWT claims is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := VirtualService(vsSpec(t, tc.spec))
			for _, p := range res.Errors {
				if p.Field == tc.field && strings.Contains(p.Reason, tc.reason) {
					return
				}
			}
			t.Errorf("want an error at %s containing %q, got %v", tc.field, tc.reason, res.Errors)
		})
	}
}

func TestVirtualServiceAccepts(t *testing.T) {
	cases := []struct{ name, spec string }{
		{"weighted split", route("route:", "- {destination: {host: reviews, subset: v1}, weight: 75}", "- {destination: {host: reviews, subset: v2}, weight: 25}")},
		{"matches", route(toReviews, "match:", "- {uri: {prefix: /api}, ignoreUriCase: true, method: {exact: GET}, headers: {end-user: {exact: jason}, x-any: {regex: '*'}}}",
			"- {uri: {regex: '/v[0-9]+/.*'}, queryParams: {debug: {}}, withoutHeaders: {x-canary: {prefix: t}}}")},
		{"redirect", route("redirect: {uri: /v2, authority: new.example, scheme: https, derivePort: FROM_REQUEST_PORT, redirectCode: 308}")},
		{"direct response", route("directResponse: {status: 503, body: {string: 'down for maintenance'}}")},
		{"direct response bytes", route("directResponse: {status: 200, body: {bytes: aGVsbG8=}}")},
		{"rewrite", route(toReviews, "rewrite: {uri: /v2, authority: reviews.internal}")},
		{"regex rewrite", route(toReviews, "rewrite: {uriRegexRewrite: {match: '^/v1/(.*)', rewrite: '/v2/\\1'}}")},
		{"fault", route(toReviews, "fault: {delay: {fixedDelay: 200ms, percentage: {value: 12.5}}, abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}}")},
		{"old integer delay percent", route(toReviews, "fault: {delay: {fixedDelay: 2s, percent: 10}}")},
		{"mirror", route(toReviews, "mirror: {host: ratings, subset: v2}", "mirrorPercentage: {value: 25}")},
		{"mirrors", route(toReviews, "mirrors: [{destination: {host: ratings}}, {destination: {host: details}, percentage: {value: 5}}]")},
		{"cors", route(toReviews, "corsPolicy: {allowOrigins: [{exact: 'https://a.example'}, {regex: 'https://.*\\.b\\.example'}], allowMethods: [GET, POST],",
			"  allowHeaders: [x-token], exposeHeaders: ['*'], maxAge: 24h, allowCredentials: true, unmatchedPreflights: IGNORE}")},
		{"headers", route("route: [{destination: {host: reviews}, headers: {request: {set: {x-subset: v1}}}}]",
			"headers: {request: {set: {x-a: '1', ':authority': reviews.internal}, add: {x-b: '%DOWNSTREAM_REMOTE_ADDRESS%', x-pct: '100%%'}, remove: [x-c]},",
			"  response: {set: {cache-control: no-cache}, remove: [server]}}")},
		{"retries", route(toReviews, "retries: {attempts: 3, perTryTimeout: 2s, retryOn: 'unavailable,503,reset'}")},
		{"retries off", route(toReviews, "retries: {attempts: 0}")},
		{"timeout off", route(toReviews, "timeout: 0s")},
		{"root with delegate", route("match: [{uri: {prefix: /reviews}}]", "delegate: {name: reviews-routes, namespace: team}")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if res := VirtualService(vsSpec(t, tc.spec)); len(res.Errors) > 0 || len(res.Warnings) > 0 {
				t.Errorf("want no problems, got errors %v, warnings %v", res.Errors, res.Warnings)
			}
		})
	}
}

func TestVirtualServiceWarnings(t *testing.T) {
	cases := []struct{ name, spec, field string }{
		{"a delegate (no hosts)", "http:\n- match: [{uri: {prefix: /reviews/v2}}]\n  " + toReviews + "\n- " + toReviews + "\nexportTo: ['.']\n", "spec.hosts"},
		{"timeout on a redirect", route("redirect: {uri: /v2}", "timeout: 1s"), "spec.http[0].timeout"},
		{"retries on a direct response", route("directResponse: {status: 200}", "retries: {attempts: 2}"), "spec.http[0].retries"},
		{"mirror on a redirect", route("redirect: {uri: /v2}", "mirror: {host: ratings}"), "spec.http[0].mirror"},
		{"mirror percentage without mirror", route(toReviews, "mirrorPercentage: {value: 5}"), "spec.http[0].mirrorPercentage"},
		{"abort without percentage", route(toReviews, "fault: {abort: {httpStatus: 503}}"), "spec.http[0].fault.abort.percentage"},
		{"delay without percentage", route(toReviews, "fault: {delay: {fixedDelay: 1s}}"), "spec.http[0].fault.delay.percentage"},
		{"both cors origin forms", route(toReviews, "corsPolicy: {allowOrigins: [{exact: a}], allowOrigin: [b]}"), "spec.http[0].corsPolicy.allowOrigin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := VirtualService(vsSpec(t, tc.spec))
			if len(res.Errors) > 0 {
				t.Fatalf("want only a warning, got errors %v", res.Errors)
			}
			for _, w := range res.Warnings {
				if w.Field == tc.field {
					return
				}
			}
			t.Errorf("want a warning at %s, got %v", tc.field, res.Warnings)
		})
	}
}
