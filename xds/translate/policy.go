package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// policy is the traffic policy in force for one cluster: a DestinationRule's settings merged for one
// port and one subset as Istio's MergeTrafficPolicy does (see effectivePolicy).
type policy struct {
	lb      *networking.LoadBalancerSettings
	pool    *networking.ConnectionPoolSettings
	outlier *networking.OutlierDetection
	tls     *networking.ClientTLSSettings
}

// effectivePolicy merges as Istio does. Within one trafficPolicy, a portLevelSettings entry for the
// port replaces all four settings, including those it leaves out ("port level policies do not
// inherit"). A subset's trafficPolicy then replaces each setting it sets, and the subset's own port
// level entry again replaces all four.
func effectivePolicy(dr *model.DestinationRule, port uint32, subset *networking.Subset) policy {
	var p policy
	if dr != nil {
		p = portPolicy(dr.Spec.TrafficPolicy, port)
	}
	if subset == nil || subset.TrafficPolicy == nil {
		return p
	}
	sp := portPolicy(subset.TrafficPolicy, port)
	if portLevel(subset.TrafficPolicy, port) != nil {
		return sp
	}
	if sp.lb != nil {
		p.lb = sp.lb
	}
	if sp.pool != nil {
		p.pool = sp.pool
	}
	if sp.outlier != nil {
		p.outlier = sp.outlier
	}
	if sp.tls != nil {
		p.tls = sp.tls
	}
	return p
}

// portPolicy is one trafficPolicy for one port: its port level entry if it has one, else its top level.
func portPolicy(tp *networking.TrafficPolicy, port uint32) policy {
	if tp == nil {
		return policy{}
	}
	if pl := portLevel(tp, port); pl != nil {
		return policy{lb: pl.LoadBalancer, pool: pl.ConnectionPool, outlier: pl.OutlierDetection, tls: pl.TLS}
	}
	return policy{lb: tp.LoadBalancer, pool: tp.ConnectionPool, outlier: tp.OutlierDetection, tls: tp.TLS}
}

func portLevel(tp *networking.TrafficPolicy, port uint32) *networking.PortTrafficPolicy {
	for _, pl := range tp.PortLevelSettings {
		if pl.Port != nil && pl.Port.Number == port {
			return pl
		}
	}
	return nil
}

// destinationRule is the rule for traffic from this proxy to svc, honouring workloadSelectors.
func (b *builder) destinationRule(svc *model.Service) *model.DestinationRule {
	return b.snap.DestinationRuleForWorkload(b.proxy.Namespace, b.proxy.Labels, svc)
}

// applyPolicy lays a traffic policy onto an outbound cluster, in Istio's order: connection pool,
// outlier detection (locality failover depends on it), load balancer and locality, then TLS.
func (b *builder) applyPolicy(c *clusterv3.Cluster, p policy, svc *model.Service, port model.Port, http *httpOptions) {
	applyCircuitBreakers(c, p.pool)
	applyConnectionPool(c, p.pool, port, http)
	if b.proxy.Proxyless {
		b.warnProxylessPool(c, p.pool)
		b.applyProxylessOutlierDetection(c, p.outlier)
	} else {
		applyOutlierDetection(c, p.outlier)
	}
	b.applyLoadBalancer(c, p.lb, port)
	b.applyLocalityConfig(c, p)
	b.applyTLS(c, p.tls, svc, port, http)
}

// applyLoadBalancer sets the load balancing policy. Istio's default is LEAST_REQUEST; gRPC clients
// keep round robin, as Istio's gRPC generator leaves it.
func (b *builder) applyLoadBalancer(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings, port model.Port) {
	if c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
		return
	}
	if b.proxy.Proxyless {
		b.applyProxylessLoadBalancer(c, lb)
		return
	}
	simple := ""
	if lb != nil {
		simple = lb.Simple
	}
	switch simple {
	case networking.LBRandom:
		c.LbPolicy = clusterv3.Cluster_RANDOM
	case networking.LBRoundRobin:
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		if w := warmup(lb); w != nil {
			c.LbConfig = &clusterv3.Cluster_RoundRobinLbConfig_{RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{
				SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: w}}}
		}
	case networking.LBPassthrough:
		// Forward to the address the client dialled: no endpoints are needed.
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
		c.EdsClusterConfig, c.LoadAssignment = nil, nil
		return
	default: // LEAST_REQUEST, LEAST_CONN (its deprecated name), UNSPECIFIED and unset
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
		if w := warmup(lb); w != nil {
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{
				SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: w}}}
		}
	}
	if lb != nil && lb.ConsistentHash != nil {
		b.applyConsistentHash(c, lb.ConsistentHash, port)
	}
}

func warmup(lb *networking.LoadBalancerSettings) *durationpb.Duration {
	if lb == nil || lb.WarmupDurationSecs == nil {
		return nil
	}
	return durationpb.New(lb.WarmupDurationSecs.Duration)
}

// applyConsistentHash is Istio's ApplyRingHashLoadBalancer: Maglev or ring hash; the deprecated
// top-level minimumRingSize selects a ring hash of that size (Envoy's default of 1024 otherwise). The
// hash key itself is on the route (HTTP) or the tcp_proxy (source IP).
func (b *builder) applyConsistentHash(c *clusterv3.Cluster, ch *networking.ConsistentHashLB, port model.Port) {
	switch {
	case ch.Maglev != nil:
		c.LbPolicy = clusterv3.Cluster_MAGLEV
		c.LbConfig = nil
		if ch.Maglev.TableSize != 0 {
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{
				TableSize: wrapperspb.UInt64(ch.Maglev.TableSize)}}
		}
	case ch.RingHash != nil:
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		c.LbConfig = nil
		if ch.RingHash.MinimumRingSize != 0 {
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
				MinimumRingSize: wrapperspb.UInt64(ch.RingHash.MinimumRingSize)}}
		}
	default:
		size := uint64(1024)
		if ch.MinimumRingSize != 0 {
			size = ch.MinimumRingSize
		}
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
			MinimumRingSize: wrapperspb.UInt64(size)}}
	}
	if !port.Protocol.IsHTTP() && !ch.UseSourceIP {
		b.warnCluster(c.Name, "cluster %s: consistentHash on %s hashes HTTP requests, but port %d is %s: connections are spread at random over the ring (use useSourceIp)",
			c.Name, hashKeyName(ch), port.Port, port.Protocol)
	}
}

func hashKeyName(ch *networking.ConsistentHashLB) string {
	switch {
	case ch.HTTPHeaderName != "":
		return "httpHeaderName"
	case ch.HTTPCookie != nil:
		return "httpCookie"
	case ch.HTTPQueryParameterName != "":
		return "httpQueryParameterName"
	}
	return "useSourceIp"
}

// applyProxylessLoadBalancer keeps to what gRPC implements: round robin (the default), least request
// (gRFC A48) where the client has it (grpcclient.go) and ring hash (A42) with a header as the key.
// Anything else is said in a warning.
func (b *builder) applyProxylessLoadBalancer(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings) {
	if lb == nil {
		return
	}
	if lb.WarmupDurationSecs != nil {
		b.warnCluster(c.Name, "cluster %s: gRPC clients have no slow start; warmupDurationSecs has no effect on them", c.Name)
	}
	switch lb.Simple {
	case networking.LBLeastConn, networking.LBLeastRequest:
		if !grpcClientOf(b.proxy).leastRequest {
			b.warnCluster(c.Name, "cluster %s: this gRPC client refuses LEAST_REQUEST (grpc-go takes it from 1.73, gRPC's C core not at all); round robin is used", c.Name)
			break
		}
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
	case networking.LBRandom:
		b.warnCluster(c.Name, "cluster %s: gRPC clients have no RANDOM load balancer; round robin is used", c.Name)
	case networking.LBPassthrough:
		b.warnCluster(c.Name, "cluster %s: gRPC clients cannot pass through to the original destination; round robin is used", c.Name)
	}
	ch := lb.ConsistentHash
	if ch == nil {
		return
	}
	if ch.Maglev != nil {
		b.warnCluster(c.Name, "cluster %s: gRPC clients have no Maglev load balancer; ring hash is used", c.Name)
	}
	if ch.HTTPHeaderName == "" {
		b.warnCluster(c.Name, "cluster %s: gRPC clients hash only on a header (httpHeaderName), not on %s: every RPC gets a random hash", c.Name, hashKeyName(ch))
	}
	c.LbPolicy = clusterv3.Cluster_RING_HASH
	size := ch.MinimumRingSize
	if ch.RingHash != nil {
		size = ch.RingHash.MinimumRingSize
	}
	if size != 0 {
		c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
			MinimumRingSize: wrapperspb.UInt64(size)}}
	}
}
