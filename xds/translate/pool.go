package translate

import (
	"math"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// applyCircuitBreakers sets Istio's defaults (no limit, rather than Envoy's surprising 1024) and the
// connection pool's limits over them. gRPC clients enforce max_requests too (gRFC A32).
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

// applyConnectionPool sets the rest of the pool. On an HTTP port the HTTP idle timeout wins over the
// TCP one, as in Istio; on a TCP port, idleTimeout and maxConnectionDuration belong to the tcp_proxy
// (see tcpProxy), and the HTTP settings have nothing to act on.
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
		if t.MaxConnectionDuration != nil && port.Protocol.IsHTTP() {
			http.change(func(o *httpOptions) {
				o.common.MaxConnectionDuration = durationpb.New(t.MaxConnectionDuration.Duration)
			})
		}
		if t.IdleTimeout != nil && port.Protocol.IsHTTP() {
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

// httpOptions accumulates a cluster's upstream HTTP settings while it is built; Envoy takes them as one
// typed extension, written by finish.
type httpOptions struct {
	set                  bool
	http2                bool
	useDownstream        bool
	maxConcurrentStreams uint32
	autoSNI, autoSAN     bool
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
	if o.autoSNI || o.autoSAN {
		opts.UpstreamHttpProtocolOptions = &corev3.UpstreamHttpProtocolOptions{AutoSni: o.autoSNI, AutoSanValidation: o.autoSAN}
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

// warnProxylessPool names the connection pool settings a gRPC client ignores: of the pool it
// enforces only the request limit (circuit_breakers max_requests, gRFC A32).
func (b *builder) warnProxylessPool(c *clusterv3.Cluster, pool *networking.ConnectionPoolSettings) {
	if pool == nil {
		return
	}
	var ignored []string
	if t := pool.TCP; t != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{{"tcp.maxConnections", t.MaxConnections > 0}, {"tcp.connectTimeout", t.ConnectTimeout != nil},
			{"tcp.tcpKeepalive", t.TCPKeepalive != nil}, {"tcp.maxConnectionDuration", t.MaxConnectionDuration != nil},
			{"tcp.idleTimeout", t.IdleTimeout != nil}} {
			if f.set {
				ignored = append(ignored, f.name)
			}
		}
	}
	if h := pool.HTTP; h != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{{"http.http1MaxPendingRequests", h.HTTP1MaxPendingRequests > 0}, {"http.maxRequestsPerConnection", h.MaxRequestsPerConnection > 0},
			{"http.maxRetries", h.MaxRetries > 0}, {"http.idleTimeout", h.IdleTimeout != nil}, {"http.h2UpgradePolicy", h.H2UpgradePolicy != ""},
			{"http.useClientProtocol", h.UseClientProtocol}, {"http.maxConcurrentStreams", h.MaxConcurrentStreams > 0}} {
			if f.set {
				ignored = append(ignored, f.name)
			}
		}
	}
	if len(ignored) > 0 {
		b.warnCluster(c.Name, "cluster %s: gRPC clients enforce only connectionPool.http.http2MaxRequests; %s have no effect on them",
			c.Name, strings.Join(ignored, ", "))
	}
}
