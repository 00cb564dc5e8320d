package validation

import (
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

// Envoy's bounds (its protos' validation rules) on what consistent hashing maps to.
const (
	maxRingSize        = 8388608 // Cluster.RingHashLbConfig.minimum_ring_size, and gRPC's (gRFC A42)
	maxMaglevTableSize = 5000011 // Cluster.MaglevLbConfig.table_size
)

// consistentHash checks the hash key (the route side) and the ring or table (the cluster side).
func (r *Result) consistentHash(cp path, ch *networking.ConsistentHashLB) {
	keys := 0
	for _, set := range []bool{ch.HTTPHeaderName != "", ch.HTTPCookie != nil, ch.UseSourceIP, ch.HTTPQueryParameterName != ""} {
		if set {
			keys++
		}
	}
	if keys != 1 {
		r.errorf(cp, "exactly one of httpHeaderName, httpCookie, useSourceIp and httpQueryParameterName must be set, got %d", keys)
	}
	if ch.RingHash != nil && ch.Maglev != nil {
		r.errorf(cp, "only one of ringHash and maglev may be set")
	}
	if ch.MinimumRingSize != 0 && (ch.RingHash != nil || ch.Maglev != nil) {
		r.errorf(cp.f("minimumRingSize"), "the deprecated minimumRingSize cannot be combined with ringHash or maglev; set ringHash.minimumRingSize")
	}
	if ch.HTTPHeaderName != "" {
		r.hashHeaderName(cp.f("httpHeaderName"), ch.HTTPHeaderName)
	}
	if c := ch.HTTPCookie; c != nil {
		if c.Name == "" {
			r.errorf(cp.f("httpCookie").f("name"), "the cookie name is required")
		}
		for _, f := range []struct{ name, value string }{{"name", c.Name}, {"path", c.Path}} {
			if strings.ContainsAny(f.value, "\x00\r\n") {
				r.errorf(cp.f("httpCookie").f(f.name), "%q must not contain line breaks or NUL: no client sends such a cookie, and Envoy writes the cookie's name and path into a Set-Cookie header", f.value)
			}
		}
		r.duration(cp.f("httpCookie").f("ttl"), c.TTL, 0)
	}
	r.ringSize(cp.f("minimumRingSize"), ch.MinimumRingSize)
	if ch.RingHash != nil {
		r.ringSize(cp.f("ringHash").f("minimumRingSize"), ch.RingHash.MinimumRingSize)
	}
	if m := ch.Maglev; m != nil && m.TableSize != 0 {
		// The bound first: it also keeps the primality test short.
		if m.TableSize > maxMaglevTableSize {
			r.errorf(cp.f("maglev").f("tableSize"), "table size %d is above %d, the largest Envoy takes", m.TableSize, maxMaglevTableSize)
		} else if !isPrime(m.TableSize) {
			r.errorf(cp.f("maglev").f("tableSize"), "table size %d must be a prime number", m.TableSize)
		}
	}
}

// pseudoHeaders are the request pseudo-headers (RFC 9113) Envoy can hash on.
var pseudoHeaders = []string{":authority", ":method", ":path", ":scheme"}

// hashHeaderName checks the header a consistent hash reads. Istio takes any name; Envoy checks
// RouteAction.HashPolicy.Header.header_name with its HTTP_HEADER_NAME rule, not strict: no NUL, CR
// or LF. A name that is no RFC 7230 token passes Envoy, but no request carries it.
func (r *Result) hashHeaderName(p path, name string) {
	switch {
	case strings.ContainsAny(name, "\x00\r\n"):
		r.errorf(p, "%q: Envoy refuses a header name with a line break or NUL (its HTTP_HEADER_NAME rule), so the routes would be sent without the hash key", name)
	case !headerName.MatchString(name) && !slices.Contains(pseudoHeaders, strings.ToLower(name)):
		r.warnf(p, "%q is not an HTTP header name (RFC 7230 token): no request carries it, so requests are spread as if no hash key were set", name)
	}
}

func (r *Result) ringSize(p path, size uint64) {
	if size > maxRingSize {
		r.errorf(p, "ring size %d is above %d, the largest Envoy and gRPC take", size, maxRingSize)
	}
}

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
