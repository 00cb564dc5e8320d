package translate

import (
	"math"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// applyPolicy lays a DestinationRule's traffic policy onto a cluster.
func (b *builder) applyPolicy(c *clusterv3.Cluster, p policy, port model.Port, http *httpOptions) {
	b.applyLoadBalancer(c, p.lb)
	applyCircuitBreakers(c, p.pool)
	applyConnectionPool(c, p.pool, port, http)
	applyOutlierDetection(c, p.outlier)
	b.applyTLS(c, p.tls)
}

func (b *builder) applyLoadBalancer(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings) {
	if lb == nil || c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
		return
	}
	if ch := lb.ConsistentHash; ch != nil {
		minRing := ch.MinimumRingSize
		if ch.RingHash != nil {
			minRing = ch.RingHash.MinimumRingSize
		}
		if ch.Maglev != nil && !b.proxy.Proxyless {
			c.LbPolicy = clusterv3.Cluster_MAGLEV
			if ch.Maglev.TableSize != 0 {
				c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{
					TableSize: wrapperspb.UInt64(ch.Maglev.TableSize)}}
			}
			return
		}
		if ch.Maglev != nil {
			b.warnf("cluster %s: gRPC clients have no Maglev load balancer; ring hash is used", c.Name)
		}
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		if minRing != 0 {
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
				MinimumRingSize: wrapperspb.UInt64(minRing)}}
		}
		return
	}
	switch lb.Simple {
	case networking.LBLeastConn, networking.LBLeastRequest:
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
	case networking.LBRandom:
		if b.proxy.Proxyless {
			b.warnf("cluster %s: gRPC clients have no RANDOM load balancer; round robin is used", c.Name)
			return
		}
		c.LbPolicy = clusterv3.Cluster_RANDOM
	case networking.LBPassthrough:
		if b.proxy.Proxyless {
			b.warnf("cluster %s: gRPC clients cannot pass through to the original destination; round robin is used", c.Name)
			return
		}
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
		c.EdsClusterConfig = nil
	}
}

// applyCircuitBreakers sets Istio's defaults (no limit, rather than Envoy's surprising 1024) and the
// connection pool's limits over them.
func applyCircuitBreakers(c *clusterv3.Cluster, pool *networking.ConnectionPoolSettings) {
	t := &clusterv3.CircuitBreakers_Thresholds{
		Priority:           corev3.RoutingPriority_DEFAULT,
		MaxConnections:     wrapperspb.UInt32(math.MaxUint32),
		MaxPendingRequests: wrapperspb.UInt32(math.MaxUint32),
		MaxRequests:        wrapperspb.UInt32(math.MaxUint32),
		MaxRetries:         wrapperspb.UInt32(math.MaxUint32),
		TrackRemaining:     true,
	}
	if pool != nil && pool.TCP != nil && pool.TCP.MaxConnections > 0 {
		t.MaxConnections = wrapperspb.UInt32(uint32(pool.TCP.MaxConnections))
	}
	if pool != nil && pool.HTTP != nil {
		h := pool.HTTP
		if h.HTTP1MaxPendingRequests > 0 {
			t.MaxPendingRequests = wrapperspb.UInt32(uint32(h.HTTP1MaxPendingRequests))
		}
		if h.HTTP2MaxRequests > 0 {
			t.MaxRequests = wrapperspb.UInt32(uint32(h.HTTP2MaxRequests))
		}
		if h.MaxRetries > 0 {
			t.MaxRetries = wrapperspb.UInt32(uint32(h.MaxRetries))
		}
	}
	c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{t}}
}

func applyConnectionPool(c *clusterv3.Cluster, pool *networking.ConnectionPoolSettings, port model.Port, http *httpOptions) {
	if pool == nil {
		return
	}
	if t := pool.TCP; t != nil {
		if t.ConnectTimeout != nil {
			c.ConnectTimeout = durationpb.New(t.ConnectTimeout.Duration)
		}
		if k := t.TCPKeepalive; k != nil {
			ka := &corev3.TcpKeepalive{}
			if k.Probes > 0 {
				ka.KeepaliveProbes = wrapperspb.UInt32(k.Probes)
			}
			if k.Time != nil {
				ka.KeepaliveTime = wrapperspb.UInt32(uint32(k.Time.Seconds()))
			}
			if k.Interval != nil {
				ka.KeepaliveInterval = wrapperspb.UInt32(uint32(k.Interval.Seconds()))
			}
			c.UpstreamConnectionOptions = &clusterv3.UpstreamConnectionOptions{TcpKeepalive: ka}
		}
		if t.MaxConnectionDuration != nil {
			http.change(func(o *httpOptions) {
				o.common.MaxConnectionDuration = durationpb.New(t.MaxConnectionDuration.Duration)
			})
		}
		if t.IdleTimeout != nil {
			http.change(func(o *httpOptions) { o.common.IdleTimeout = durationpb.New(t.IdleTimeout.Duration) })
		}
	}
	if h := pool.HTTP; h != nil && port.Protocol.IsHTTP() {
		if h.IdleTimeout != nil {
			http.change(func(o *httpOptions) { o.common.IdleTimeout = durationpb.New(h.IdleTimeout.Duration) })
		}
		if h.MaxRequestsPerConnection > 0 {
			http.change(func(o *httpOptions) {
				o.common.MaxRequestsPerConnection = wrapperspb.UInt32(uint32(h.MaxRequestsPerConnection))
			})
		}
		if h.MaxConcurrentStreams > 0 {
			http.change(func(o *httpOptions) { o.maxConcurrentStreams = uint32(h.MaxConcurrentStreams) })
		}
		switch {
		case h.UseClientProtocol:
			http.change(func(o *httpOptions) { o.useDownstream = true })
		case h.H2UpgradePolicy == "UPGRADE" && port.Protocol == model.ProtocolHTTP:
			http.change(func(o *httpOptions) { o.http2 = true })
		}
	}
}

// applyOutlierDetection converts Istio's consecutive-error ejection. A count that is set enables that
// kind of ejection (enforcing 100%); one that is 0 disables it, as in Istio.
func applyOutlierDetection(c *clusterv3.Cluster, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{}
	consecutive5xx := od.Consecutive5xxErrors
	if consecutive5xx == nil && od.ConsecutiveErrors > 0 {
		v := uint32(od.ConsecutiveErrors)
		consecutive5xx = &v
	}
	if consecutive5xx != nil {
		out.Consecutive_5Xx = wrapperspb.UInt32(*consecutive5xx)
		out.EnforcingConsecutive_5Xx = wrapperspb.UInt32(enforcing(*consecutive5xx))
	}
	if g := od.ConsecutiveGatewayErrors; g != nil {
		out.ConsecutiveGatewayFailure = wrapperspb.UInt32(*g)
		out.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(enforcing(*g))
	}
	if od.SplitExternalLocalOriginErrors {
		out.SplitExternalLocalOriginErrors = true
		if l := od.ConsecutiveLocalOriginFailures; l != nil {
			out.ConsecutiveLocalOriginFailure = wrapperspb.UInt32(*l)
			out.EnforcingConsecutiveLocalOriginFailure = wrapperspb.UInt32(enforcing(*l))
		}
	}
	if od.Interval != nil {
		out.Interval = durationpb.New(od.Interval.Duration)
	}
	if od.BaseEjectionTime != nil {
		out.BaseEjectionTime = durationpb.New(od.BaseEjectionTime.Duration)
	}
	if od.MaxEjectionPercent > 0 {
		out.MaxEjectionPercent = wrapperspb.UInt32(uint32(od.MaxEjectionPercent))
	}
	c.OutlierDetection = out
	if od.MinHealthPercent > 0 {
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{
			HealthyPanicThreshold: &typev3.Percent{Value: float64(od.MinHealthPercent)},
		}
	}
}

func enforcing(count uint32) uint32 {
	if count == 0 {
		return 0
	}
	return 100
}

// applyTLS originates TLS to the upstream with certificates read from files on the proxy's host.
func (b *builder) applyTLS(c *clusterv3.Cluster, t *networking.ClientTLSSettings) {
	if t == nil || t.Mode == "" || t.Mode == networking.TLSDisable {
		return
	}
	if b.proxy.Proxyless {
		b.warnf("cluster %s: TLS origination for gRPC clients needs certificate providers in their bootstrap; sent in plaintext", c.Name)
		return
	}
	common := &tlsv3.CommonTlsContext{}
	if t.CaCertificates != "" {
		validation := &tlsv3.CertificateValidationContext{
			TrustedCa: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: t.CaCertificates}},
		}
		for _, san := range t.SubjectAltNames {
			validation.MatchTypedSubjectAltNames = append(validation.MatchTypedSubjectAltNames, &tlsv3.SubjectAltNameMatcher{
				SanType: tlsv3.SubjectAltNameMatcher_DNS,
				Matcher: exactMatcher(san),
			})
		}
		if t.CaCrl != "" {
			validation.Crl = &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: t.CaCrl}}
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: validation}
	}
	if t.Mode == networking.TLSMutual {
		common.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: t.ClientCertificate}},
			PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: t.PrivateKey}},
		}}
	}
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: common, Sni: t.Sni}
	c.TransportSocket = &corev3.TransportSocket{
		Name:       "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)},
	}
}

// httpOptions accumulates a cluster's upstream HTTP settings while it is built; Envoy takes them as one
// typed extension, written by finish.
type httpOptions struct {
	set                  bool
	http2                bool
	useDownstream        bool
	maxConcurrentStreams uint32
	common               corev3.HttpProtocolOptions
}

func (o *httpOptions) change(f func(*httpOptions)) {
	o.set = true
	f(o)
}

// finish writes the extension onto the cluster, if any setting asked for it.
func (o *httpOptions) finish(c *clusterv3.Cluster) {
	if !o.set {
		return
	}
	opts := &httpv3.HttpProtocolOptions{}
	if o.common.IdleTimeout != nil || o.common.MaxConnectionDuration != nil || o.common.MaxRequestsPerConnection != nil {
		opts.CommonHttpProtocolOptions = &o.common
	}
	h2 := &corev3.Http2ProtocolOptions{}
	if o.maxConcurrentStreams > 0 {
		h2.MaxConcurrentStreams = wrapperspb.UInt32(o.maxConcurrentStreams)
	}
	switch {
	case o.useDownstream:
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}, Http2ProtocolOptions: h2}}
	case o.http2:
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: h2}}}
	default:
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}}
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: toAny(opts)}
}
