package translate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

// grpcRetryOn are the retry conditions grpc-go acts on; it ignores the others.
var grpcRetryOn = []string{"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}

// forGRPC returns the rule as a gRPC client may have it: grpc-go refuses a route config that
// configures a filter it does not implement (CORS) and ignores header operations, rewrites and
// mirrors, so those are left out rather than sent for nothing. Each omission, and each part grpc-go
// will ignore or treat differently, is a warning naming the VirtualService and the field.
func (b *builder) forGRPC(rule httpRule) *networking.HTTPRoute {
	hr := *rule.route // shallow: only top-level fields are replaced
	warn := func(field, what string) {
		b.warnOnce(rule.vs.Meta, ResourceRef{}, "%s.%s: %s", rule.where, field, what)
	}
	if hr.CorsPolicy != nil {
		warn("corsPolicy", "gRPC has no CORS; left out")
		hr.CorsPolicy = nil
	}
	if hr.Headers != nil {
		warn("headers", "grpc-go does not apply header operations; left out")
		hr.Headers = nil
	}
	if slices.ContainsFunc(hr.Route, func(d *networking.HTTPRouteDestination) bool { return d.Headers != nil }) {
		warn("route.headers", "grpc-go does not apply header operations; left out")
		hr.Route = slices.Clone(hr.Route)
		for i, d := range hr.Route {
			withoutHeaders := *d
			withoutHeaders.Headers = nil
			hr.Route[i] = &withoutHeaders
		}
	}
	if hr.Rewrite != nil {
		warn("rewrite", "grpc-go does not rewrite paths or authorities; left out")
		hr.Rewrite = nil
	}
	if hr.Mirror != nil || len(hr.Mirrors) > 0 {
		warn("mirror", "grpc-go does not mirror requests; left out")
		hr.Mirror, hr.Mirrors, hr.MirrorPercent, hr.MirrorPercentage = nil, nil, nil, nil
	}
	if hr.Redirect != nil {
		warn("redirect", "a gRPC client cannot follow a redirect: RPCs this route matches fail with UNAVAILABLE")
	}
	if hr.DirectResponse != nil {
		warn("directResponse", "a gRPC client does not answer for the server: RPCs this route matches fail with UNAVAILABLE")
	}
	for i, m := range hr.Match {
		if len(m.QueryParams) > 0 {
			warn("match["+strconv.Itoa(i)+"].queryParams", "grpc-go skips a route that matches query parameters (RPCs have none)")
		}
	}
	if r := hr.Retries; r != nil && r.Attempts > 0 {
		b.grpcRetryWarnings(rule, r)
	}
	return &hr
}

func (b *builder) grpcRetryWarnings(rule httpRule, r *networking.HTTPRetry) {
	warn := func(field, what string) {
		b.warnOnce(rule.vs.Meta, ResourceRef{}, "%s.retries.%s: %s", rule.where, field, what)
	}
	if r.PerTryTimeout != nil {
		warn("perTryTimeout", "grpc-go has no per-try timeout; only the route timeout bounds an RPC")
	}
	if r.RetryRemoteLocalities != nil && *r.RetryRemoteLocalities {
		warn("retryRemoteLocalities", "grpc-go ignores it")
	}
	retryOn := r.RetryOn
	if retryOn == "" {
		retryOn = istioRetryOn
	}
	var ignored []string
	usable := false
	for _, cond := range strings.Split(retryOn, ",") {
		cond = strings.TrimSpace(cond)
		if slices.Contains(grpcRetryOn, cond) {
			usable = true
		} else if cond != "" {
			ignored = append(ignored, cond)
		}
	}
	switch {
	case !usable:
		warn("retryOn", "none of the conditions is a gRPC status grpc-go retries on ("+strings.Join(grpcRetryOn, ", ")+"): no retries")
	case len(ignored) > 0 && r.RetryOn != "":
		warn("retryOn", "grpc-go retries only on gRPC statuses and ignores "+strings.Join(ignored, ", "))
	}
}
