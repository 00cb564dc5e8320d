package validation

import "github.com/minipilot/minipilot/crds/networking"

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
	if c := ch.HTTPCookie; c != nil {
		if c.Name == "" {
			r.errorf(cp.f("httpCookie").f("name"), "the cookie name is required")
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
