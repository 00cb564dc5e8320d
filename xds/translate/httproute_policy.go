package translate

import (
	"net/http"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushosts "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previouspriorities "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// istioRetryOn is Istio's default set of retry conditions.
const istioRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"

// defaultRetryPolicy is Istio's default: 2 retries on connection failures and 503s, each on another
// host than the ones tried.
func defaultRetryPolicy() *routev3.RetryPolicy {
	return &routev3.RetryPolicy{
		RetryOn:              istioRetryOn,
		NumRetries:           wrapperspb.UInt32(2),
		RetriableStatusCodes: []uint32{http.StatusServiceUnavailable},
		RetryHostPredicate: []*routev3.RetryPolicy_RetryHostPredicate{{
			Name: "envoy.retry_host_predicates.previous_hosts",
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{
				TypedConfig: toAny(&previoushosts.PreviousHostsPredicate{})},
		}},
		HostSelectionRetryMaxAttempts: 5,
	}
}

// retryPolicy converts a VirtualService retry policy as Istio does: the default policy with the
// rule's overrides; 0 attempts disables retries. With a consistent hash, retries stay on the hashed
// host (no previous-hosts predicate).
func retryPolicy(r *networking.HTTPRetry, consistentHash bool) *routev3.RetryPolicy {
	if r.Attempts <= 0 {
		return nil
	}
	p := defaultRetryPolicy()
	if consistentHash {
		p.RetryHostPredicate = nil
	}
	p.NumRetries = wrapperspb.UInt32(uint32(r.Attempts))
	if r.RetryOn != "" {
		p.RetryOn, p.RetriableStatusCodes = parseRetryOn(r.RetryOn)
		if len(p.RetriableStatusCodes) > 0 && !strings.Contains(p.RetryOn, "retriable-status-codes") {
			p.RetryOn = strings.TrimPrefix(p.RetryOn+",retriable-status-codes", ",")
		}
	}
	if r.PerTryTimeout != nil {
		p.PerTryTimeout = durationpb.New(r.PerTryTimeout.Duration)
	}
	if r.RetryRemoteLocalities != nil && *r.RetryRemoteLocalities {
		p.RetryPriority = &routev3.RetryPolicy_RetryPriority{
			Name: "envoy.retry_priorities.previous_priorities",
			ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{
				TypedConfig: toAny(&previouspriorities.PreviousPrioritiesConfig{UpdateFrequency: 2})},
		}
	}
	return p
}

// parseRetryOn splits retryOn into Envoy's conditions and HTTP status codes ("503" means retry on a
// 503), which Envoy wants in retriable_status_codes.
func parseRetryOn(retryOn string) (string, []uint32) {
	var conditions []string
	var codes []uint32
	for _, part := range strings.Split(retryOn, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, err := strconv.Atoi(part); err == nil && http.StatusText(n) != "" {
			codes = append(codes, uint32(n))
			continue
		}
		conditions = append(conditions, part)
	}
	return strings.Join(conditions, ","), codes
}

// hashPolicy is the route side of a consistentHash load balancer: what to hash on.
func (b *builder) hashPolicy(svc *model.Service, port uint32, subset string) []*routev3.RouteAction_HashPolicy {
	dr := b.destinationRule(svc)
	if dr == nil {
		return nil
	}
	lb := effectivePolicy(dr, port, subsetNamed(dr, subset)).lb
	if lb == nil || lb.ConsistentHash == nil {
		return nil
	}
	ch := lb.ConsistentHash
	hp := &routev3.RouteAction_HashPolicy{}
	switch {
	case ch.HTTPHeaderName != "":
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_Header_{Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: strings.ToLower(ch.HTTPHeaderName)}}
	case ch.HTTPCookie != nil:
		c := &routev3.RouteAction_HashPolicy_Cookie{Name: ch.HTTPCookie.Name, Path: ch.HTTPCookie.Path}
		if ch.HTTPCookie.TTL != nil {
			c.Ttl = durationpb.New(ch.HTTPCookie.TTL.Duration)
		}
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_Cookie_{Cookie: c}
	case ch.UseSourceIP:
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}
	case ch.HTTPQueryParameterName != "":
		hp.PolicySpecifier = &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: ch.HTTPQueryParameterName}}
	default:
		return nil
	}
	if err := hp.ValidateAll(); err != nil {
		// Left out here rather than with the route: the route is the VirtualService's, and only the
		// stickiness is lost.
		b.warnOnce(dr.Meta, ResourceRef{}, "DestinationRule %s/%s: the consistentHash key of %s is left out of its routes (requests are spread without it): %v",
			dr.Namespace, dr.Name, svc.Hostname, err)
		return nil
	}
	return []*routev3.RouteAction_HashPolicy{hp}
}
