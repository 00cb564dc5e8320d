package validation

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

var simpleLBs = []string{networking.LBUnspecified, networking.LBLeastConn, networking.LBRandom,
	networking.LBPassthrough, networking.LBRoundRobin, networking.LBLeastRequest}

var tlsModes = []string{networking.TLSDisable, networking.TLSSimple, networking.TLSMutual, networking.TLSIstioMutual}

// DestinationRule validates a DestinationRule spec.
func DestinationRule(dr *networking.DestinationRule) Result {
	var r Result
	spec := path("spec")
	if dr == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	r.host(spec.f("host"), dr.Host, true)
	r.trafficPolicy(spec.f("trafficPolicy"), dr.TrafficPolicy, true)
	seen := map[string]bool{}
	for i, s := range dr.Subsets {
		p := spec.f("subsets").i(i)
		switch {
		case s.Name == "":
			r.errorf(p.f("name"), "a subset needs a name")
		case !dnsLabel.MatchString(s.Name):
			r.errorf(p.f("name"), "%q is not a valid subset name (lowercase letters, digits and '-')", s.Name)
		case seen[s.Name]:
			r.errorf(p.f("name"), "subset %q is defined twice", s.Name)
		}
		seen[s.Name] = true
		r.trafficPolicy(p.f("trafficPolicy"), s.TrafficPolicy, true)
	}
	return r
}

func (r *Result) trafficPolicy(p path, tp *networking.TrafficPolicy, portLevelAllowed bool) {
	if tp == nil {
		return
	}
	r.loadBalancer(p.f("loadBalancer"), tp.LoadBalancer)
	r.connectionPool(p.f("connectionPool"), tp.ConnectionPool)
	r.outlierDetection(p.f("outlierDetection"), tp.OutlierDetection)
	r.clientTLS(p.f("tls"), tp.TLS)
	if tp.Tunnel != nil {
		r.errorf(p.f("tunnel"), "tunnel is not supported by minipilot")
	}
	if tp.ProxyProtocol != nil {
		r.errorf(p.f("proxyProtocol"), "proxyProtocol is not supported by minipilot")
	}
	ports := map[uint32]bool{}
	for i, pl := range tp.PortLevelSettings {
		pp := p.f("portLevelSettings").i(i)
		if pl.Port == nil || pl.Port.Number == 0 {
			r.errorf(pp.f("port").f("number"), "a port level setting needs a port number")
		} else {
			r.port(pp.f("port").f("number"), pl.Port.Number)
			if ports[pl.Port.Number] {
				r.errorf(pp.f("port").f("number"), "port %d has two port level settings", pl.Port.Number)
			}
			ports[pl.Port.Number] = true
		}
		r.loadBalancer(pp.f("loadBalancer"), pl.LoadBalancer)
		r.connectionPool(pp.f("connectionPool"), pl.ConnectionPool)
		r.outlierDetection(pp.f("outlierDetection"), pl.OutlierDetection)
		r.clientTLS(pp.f("tls"), pl.TLS)
	}
}

func (r *Result) loadBalancer(p path, lb *networking.LoadBalancerSettings) {
	if lb == nil {
		return
	}
	if lb.Simple != "" && !slices.Contains(simpleLBs, lb.Simple) {
		r.errorf(p.f("simple"), "%q is not a load balancer (want one of %v)", lb.Simple, simpleLBs)
	}
	if lb.Simple != "" && lb.ConsistentHash != nil {
		r.errorf(p, "only one of simple and consistentHash may be set")
	}
	if ch := lb.ConsistentHash; ch != nil {
		cp := p.f("consistentHash")
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
		if c := ch.HTTPCookie; c != nil {
			if c.Name == "" {
				r.errorf(cp.f("httpCookie").f("name"), "the cookie name is required")
			}
			r.duration(cp.f("httpCookie").f("ttl"), c.TTL, 0)
		}
		if ch.Maglev != nil && ch.Maglev.TableSize != 0 && !isPrime(ch.Maglev.TableSize) {
			r.errorf(cp.f("maglev").f("tableSize"), "table size %d must be a prime number", ch.Maglev.TableSize)
		}
	}
	if ls := lb.LocalityLbSetting; ls != nil {
		lp := p.f("localityLbSetting")
		if len(ls.Distribute) > 0 && len(ls.Failover) > 0 {
			r.errorf(lp, "only one of distribute and failover may be set")
		}
		for i, d := range ls.Distribute {
			sum := uint32(0)
			for _, k := range sortedKeys(d.To) {
				sum += d.To[k]
			}
			if sum != 100 {
				r.errorf(lp.f("distribute").i(i).f("to"), "the weights add up to %d, not 100", sum)
			}
			if d.From == "" {
				r.errorf(lp.f("distribute").i(i).f("from"), "the source locality is required")
			}
		}
		for i, f := range ls.Failover {
			if f.From == "" || f.To == "" {
				r.errorf(lp.f("failover").i(i), "both from and to regions are required")
			} else if f.From == f.To {
				r.errorf(lp.f("failover").i(i), "a region cannot fail over to itself (%q)", f.From)
			}
		}
	}
	r.duration(p.f("warmupDurationSecs"), lb.WarmupDurationSecs, 0)
}

func (r *Result) connectionPool(p path, cp *networking.ConnectionPoolSettings) {
	if cp == nil {
		return
	}
	if t := cp.TCP; t != nil {
		tp := p.f("tcp")
		nonNegative(r, tp.f("maxConnections"), t.MaxConnections)
		r.duration(tp.f("connectTimeout"), t.ConnectTimeout, time.Millisecond)
		r.duration(tp.f("maxConnectionDuration"), t.MaxConnectionDuration, time.Millisecond)
		r.duration(tp.f("idleTimeout"), t.IdleTimeout, 0)
		if k := t.TCPKeepalive; k != nil {
			r.duration(tp.f("tcpKeepalive").f("time"), k.Time, time.Second)
			r.duration(tp.f("tcpKeepalive").f("interval"), k.Interval, time.Second)
		}
	}
	if h := cp.HTTP; h != nil {
		hp := p.f("http")
		nonNegative(r, hp.f("http1MaxPendingRequests"), h.HTTP1MaxPendingRequests)
		nonNegative(r, hp.f("http2MaxRequests"), h.HTTP2MaxRequests)
		nonNegative(r, hp.f("maxRequestsPerConnection"), h.MaxRequestsPerConnection)
		nonNegative(r, hp.f("maxRetries"), h.MaxRetries)
		nonNegative(r, hp.f("maxConcurrentStreams"), h.MaxConcurrentStreams)
		r.duration(hp.f("idleTimeout"), h.IdleTimeout, time.Millisecond)
		switch h.H2UpgradePolicy {
		case "", "DEFAULT", "DO_NOT_UPGRADE", "UPGRADE":
		default:
			r.errorf(hp.f("h2UpgradePolicy"), "%q is not DEFAULT, DO_NOT_UPGRADE or UPGRADE", h.H2UpgradePolicy)
		}
	}
}

func (r *Result) outlierDetection(p path, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	nonNegative(r, p.f("consecutiveErrors"), od.ConsecutiveErrors)
	r.duration(p.f("interval"), od.Interval, time.Millisecond)
	r.duration(p.f("baseEjectionTime"), od.BaseEjectionTime, time.Millisecond)
	if od.MaxEjectionPercent < 0 || od.MaxEjectionPercent > 100 {
		r.errorf(p.f("maxEjectionPercent"), "percentage %d is outside 0..100", od.MaxEjectionPercent)
	}
	if od.MinHealthPercent < 0 || od.MinHealthPercent > 100 {
		r.errorf(p.f("minHealthPercent"), "percentage %d is outside 0..100", od.MinHealthPercent)
	}
}

func (r *Result) clientTLS(p path, t *networking.ClientTLSSettings) {
	if t == nil {
		return
	}
	if t.Mode != "" && !slices.Contains(tlsModes, t.Mode) {
		r.errorf(p.f("mode"), "%q is not a TLS mode (want one of %v)", t.Mode, tlsModes)
		return
	}
	switch t.Mode {
	case networking.TLSMutual:
		if t.CredentialName == "" && (t.ClientCertificate == "" || t.PrivateKey == "") {
			r.errorf(p, "MUTUAL mode needs clientCertificate and privateKey (file paths)")
		}
	case networking.TLSIstioMutual:
		r.errorf(p.f("mode"), "ISTIO_MUTUAL needs Istio's certificate authority, which minipilot does not run; use SIMPLE or MUTUAL with file paths")
	}
	if t.CredentialName != "" {
		r.errorf(p.f("credentialName"), "credentialName needs an SDS server, which minipilot does not run; use file paths")
	}
}

func (r *Result) cidr(p path, s string) {
	if _, err := netip.ParsePrefix(s); err == nil {
		return
	}
	if _, err := netip.ParseAddr(s); err != nil {
		r.errorf(p, "%q is neither an IP address nor a CIDR", s)
	}
}

func nonNegative(r *Result, p path, v int32) {
	if v < 0 {
		r.errorf(p, "%d is negative", v)
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
