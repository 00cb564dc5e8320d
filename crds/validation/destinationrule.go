package validation

import (
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

var simpleLBs = []string{networking.LBUnspecified, networking.LBLeastConn, networking.LBRandom,
	networking.LBPassthrough, networking.LBRoundRobin, networking.LBLeastRequest}

// labelValue is what Kubernetes accepts as a label value (and as the name part of a key).
var labelValue = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)

var tlsModes = []string{networking.TLSDisable, networking.TLSSimple, networking.TLSMutual, networking.TLSIstioMutual}

// DestinationRule validates a DestinationRule spec.
func DestinationRule(dr *networking.DestinationRule) Result {
	var r Result
	spec := path("spec")
	if dr == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if !r.noNulls(spec, dr) {
		return r
	}
	r.host(spec.f("host"), dr.Host, true)
	topOutlier := dr.TrafficPolicy != nil && dr.TrafficPolicy.OutlierDetection != nil
	r.trafficPolicy(spec.f("trafficPolicy"), dr.TrafficPolicy, topOutlier)
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
		r.labels(p.f("labels"), s.Labels)
		outlier := topOutlier || s.TrafficPolicy != nil && s.TrafficPolicy.OutlierDetection != nil
		r.trafficPolicy(p.f("trafficPolicy"), s.TrafficPolicy, outlier)
	}
	r.exportTo(spec.f("exportTo"), dr.ExportTo)
	if ws := dr.WorkloadSelector; ws != nil {
		r.labels(spec.f("workloadSelector").f("matchLabels"), ws.MatchLabels)
	}
	return r
}

// trafficPolicy checks one level of policy; hasOutlier says whether outlier detection applies at this
// level (its own or inherited), which locality failover needs.
func (r *Result) trafficPolicy(p path, tp *networking.TrafficPolicy, hasOutlier bool) {
	if tp == nil {
		return
	}
	r.loadBalancer(p.f("loadBalancer"), tp.LoadBalancer, hasOutlier)
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
		// A port level setting replaces every setting of its level, so only its own outlier counts.
		r.loadBalancer(pp.f("loadBalancer"), pl.LoadBalancer, pl.OutlierDetection != nil)
		r.connectionPool(pp.f("connectionPool"), pl.ConnectionPool)
		r.outlierDetection(pp.f("outlierDetection"), pl.OutlierDetection)
		r.clientTLS(pp.f("tls"), pl.TLS)
	}
}

func (r *Result) loadBalancer(p path, lb *networking.LoadBalancerSettings, hasOutlier bool) {
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
		r.consistentHash(p.f("consistentHash"), ch)
	}
	if ls := lb.LocalityLbSetting; ls != nil {
		r.localityLB(p.f("localityLbSetting"), ls, hasOutlier)
	}
	r.duration(p.f("warmupDurationSecs"), lb.WarmupDurationSecs, 0)
	if lb.WarmupDurationSecs != nil && (lb.ConsistentHash != nil || lb.Simple == networking.LBRandom || lb.Simple == networking.LBPassthrough) {
		r.errorf(p.f("warmupDurationSecs"), "a warm-up (slow start) works only with ROUND_ROBIN and LEAST_REQUEST load balancing")
	}
}

// localityLB follows Istio's validateLocalityLbSetting.
func (r *Result) localityLB(lp path, ls *networking.LocalityLoadBalancerSetting, hasOutlier bool) {
	if len(ls.Distribute) > 0 && len(ls.Failover) > 0 {
		r.errorf(lp, "only one of distribute and failover may be set")
	}
	if len(ls.Failover) > 0 {
		for i, label := range ls.FailoverPriority {
			name, _, _ := strings.Cut(label, "=")
			if name == "topology.kubernetes.io/region" || name == "topology.kubernetes.io/zone" || name == "topology.istio.io/subzone" {
				r.errorf(lp.f("failoverPriority").i(i), "failover already orders by region; %q cannot be in failoverPriority as well", name)
			}
		}
	}
	var from []string
	for i, d := range ls.Distribute {
		dp := lp.f("distribute").i(i)
		if d.From == "" {
			r.errorf(dp.f("from"), "the source locality is required")
		}
		from = append(from, d.From)
		sum := uint32(0)
		for _, k := range slices.Sorted(maps.Keys(d.To)) {
			if d.To[k] == 0 || d.To[k] > 100 {
				r.errorf(dp.f("to").k(k), "weight %d is outside 1..100", d.To[k])
			}
			sum += d.To[k]
		}
		if sum != 100 {
			r.errorf(dp.f("to"), "the weights add up to %d, not 100", sum)
		}
		r.localities(dp.f("to"), slices.Sorted(maps.Keys(d.To)))
	}
	r.localities(lp.f("distribute"), from)
	for i, f := range ls.Failover {
		fp := lp.f("failover").i(i)
		switch {
		case f.From == "" || f.To == "":
			r.errorf(fp, "both from and to regions are required")
		case f.From == f.To:
			r.errorf(fp, "a region cannot fail over to itself (%q)", f.From)
		case strings.ContainsAny(f.From+f.To, "/*"):
			r.errorf(fp, "failover names regions only, without zones or '*' (got %q to %q)", f.From, f.To)
		}
	}
	for i, label := range ls.FailoverPriority {
		if name, _, _ := strings.Cut(label, "="); name == "" {
			r.errorf(lp.f("failoverPriority").i(i), "a label name is required")
		}
	}
	if (len(ls.Failover) > 0 || len(ls.FailoverPriority) > 0) && !hasOutlier {
		r.warnf(lp, "failover needs outlierDetection: without it no endpoint is seen to fail, so traffic never fails over")
	}
	if ls.Enabled != nil && !*ls.Enabled && (len(ls.Distribute) > 0 || len(ls.Failover) > 0 || len(ls.FailoverPriority) > 0) {
		r.warnf(lp.f("enabled"), "locality load balancing is disabled, so the rest of localityLbSetting has no effect")
	}
}

// localities checks "region/zone/subzone" patterns: no empty part, at most one '*' and only at the
// end, and no two patterns that cover the same localities.
func (r *Result) localities(p path, locs []string) {
	for i, l := range locs {
		if n := strings.Count(l, "*"); n > 1 || n == 1 && !strings.HasSuffix(l, "*") {
			r.errorf(p, "locality %q: '*' may appear once, at the end", l)
		}
		if slices.Contains(strings.Split(l, "/"), "") {
			r.errorf(p, "locality %q has an empty region, zone or subzone", l)
		}
		for _, other := range locs[:i] {
			if localityCovers(l, other) || localityCovers(other, l) {
				r.errorf(p, "localities %q and %q overlap", other, l)
			}
		}
	}
}

func localityCovers(pattern, l string) bool {
	if pattern == l {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(l, prefix)
	}
	return strings.HasPrefix(l, pattern+"/")
}

// Linux's bounds on the keepalive socket options Envoy sets on upstream connections.
const (
	maxKeepaliveSeconds = 32767
	maxKeepaliveProbes  = 127
)

func (r *Result) connectionPool(p path, cp *networking.ConnectionPoolSettings) {
	if cp == nil {
		return
	}
	if t := cp.TCP; t != nil {
		tp := p.f("tcp")
		nonNegative(r, tp.f("maxConnections"), t.MaxConnections)
		r.msDuration(tp.f("connectTimeout"), t.ConnectTimeout, time.Millisecond)
		r.msDuration(tp.f("maxConnectionDuration"), t.MaxConnectionDuration, time.Millisecond)
		r.msDuration(tp.f("idleTimeout"), t.IdleTimeout, 0) // 0 turns it off; as Istio, no minimum
		if k := t.TCPKeepalive; k != nil {
			kp := tp.f("tcpKeepalive")
			for _, d := range []struct {
				name string
				d    *networking.Duration
			}{{"time", k.Time}, {"interval", k.Interval}} {
				r.msDuration(kp.f(d.name), d.d, time.Second)
				if d.d != nil && d.d.Err() == nil && d.d.Duration > maxKeepaliveSeconds*time.Second {
					r.errorf(kp.f(d.name), "%s is above %ds, the most Linux takes (TCP_KEEPIDLE, TCP_KEEPINTVL): every connection would fail", d.d.Duration, maxKeepaliveSeconds)
				}
			}
			if k.Probes > maxKeepaliveProbes {
				r.errorf(kp.f("probes"), "%d probes are more than %d, the most Linux takes (TCP_KEEPCNT): every connection would fail", k.Probes, maxKeepaliveProbes)
			}
		}
	}
	if h := cp.HTTP; h != nil {
		hp := p.f("http")
		nonNegative(r, hp.f("http1MaxPendingRequests"), h.HTTP1MaxPendingRequests)
		nonNegative(r, hp.f("http2MaxRequests"), h.HTTP2MaxRequests)
		nonNegative(r, hp.f("maxRequestsPerConnection"), h.MaxRequestsPerConnection)
		nonNegative(r, hp.f("maxRetries"), h.MaxRetries)
		nonNegative(r, hp.f("maxConcurrentStreams"), h.MaxConcurrentStreams)
		r.msDuration(hp.f("idleTimeout"), h.IdleTimeout, time.Millisecond)
		switch h.H2UpgradePolicy {
		case "", "DEFAULT", "DO_NOT_UPGRADE", "UPGRADE":
		default:
			r.errorf(hp.f("h2UpgradePolicy"), "%q is not DEFAULT, DO_NOT_UPGRADE or UPGRADE", h.H2UpgradePolicy)
		}
		if h.UseClientProtocol && h.H2UpgradePolicy == "UPGRADE" {
			r.errorf(hp, "useClientProtocol keeps the client's protocol, which contradicts h2UpgradePolicy UPGRADE")
		}
	}
}

func (r *Result) outlierDetection(p path, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	if od.ConsecutiveErrors != 0 {
		r.errorf(p.f("consecutiveErrors"), "consecutiveErrors is deprecated and Istio ignores it; use consecutive5xxErrors or consecutiveGatewayErrors")
	}
	if od.ConsecutiveLocalOriginFailures != nil && !od.SplitExternalLocalOriginErrors {
		r.errorf(p.f("consecutiveLocalOriginFailures"), "counts only with splitExternalLocalOriginErrors: true")
	}
	r.msDuration(p.f("interval"), od.Interval, time.Millisecond)
	r.msDuration(p.f("baseEjectionTime"), od.BaseEjectionTime, time.Millisecond)
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
		return
	case "", networking.TLSDisable:
		if t.ClientCertificate != "" || t.PrivateKey != "" || t.CaCertificates != "" || t.CredentialName != "" ||
			len(t.SubjectAltNames) > 0 || t.Sni != "" || t.InsecureSkipVerify != nil || t.CaCrl != "" {
			r.errorf(p, "TLS settings have no effect when mode is %s", cmpOr(t.Mode, "unset (DISABLE)"))
		}
		return
	case networking.TLSSimple:
		if t.ClientCertificate != "" || t.PrivateKey != "" {
			r.errorf(p, "clientCertificate and privateKey are sent only in MUTUAL mode")
		}
	}
	if t.CredentialName != "" {
		r.errorf(p.f("credentialName"), "credentialName needs an SDS server, which minipilot does not run; use file paths")
	}
	if t.CaCrl != "" && t.CaCertificates == "" {
		r.errorf(p.f("caCrl"), "a CRL is checked only with caCertificates")
	}
	if t.InsecureSkipVerify != nil && *t.InsecureSkipVerify && (t.CaCertificates != "" || len(t.SubjectAltNames) > 0) {
		r.errorf(p.f("insecureSkipVerify"), "the server is not verified, so caCertificates and subjectAltNames would have no effect")
	}
	if len(t.SubjectAltNames) > 0 && t.CaCertificates == "" {
		r.errorf(p.f("subjectAltNames"), "subject alternative names are checked only when caCertificates verifies the server")
	}
}

// exportTo checks Istio's visibility values: "*", ".", "~" (nowhere) or namespace names.
func (r *Result) exportTo(p path, values []string) {
	seen := map[string]bool{}
	for i, v := range values {
		switch {
		case v == "*" || v == "." || v == "~":
			if len(values) > 1 && v != "." {
				r.errorf(p.i(i), "%q cannot be combined with other exportTo values", v)
			}
		case !dnsLabel.MatchString(v):
			r.errorf(p.i(i), "%q is not \"*\", \".\", \"~\" or a namespace name", v)
		}
		if seen[v] {
			r.errorf(p.i(i), "%q is listed twice", v)
		}
		seen[v] = true
	}
}

// labels checks label maps: Kubernetes label keys and values.
func (r *Result) labels(p path, m map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if prefix, n, ok := strings.Cut(k, "/"); ok {
			name = n
			if prefix == "" || strings.ContainsAny(prefix, " =") {
				r.errorf(p.k(k), "%q is not a valid label key", k)
				continue
			}
		}
		if !labelValue.MatchString(name) || name == "" || len(name) > 63 {
			r.errorf(p.k(k), "%q is not a valid label key", k)
		}
		if !labelValue.MatchString(m[k]) || len(m[k]) > 63 {
			r.errorf(p.k(k), "%q is not a valid label value", m[k])
		}
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

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
