package translate

import (
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// defaultConnectTimeout is Istio's default for outbound clusters.
const defaultConnectTimeout = 10 * time.Second

// PassthroughCluster forwards to the original destination of connections no listener claims.
const PassthroughCluster = "PassthroughCluster"

// adsSource says "over the same ADS stream", for EDS and RDS references.
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

// clusters builds an outbound cluster per visible service port and one per DestinationRule subset.
func (b *builder) clusters() []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for _, svc := range b.services {
		dr := b.destinationRule(svc)
		for _, port := range svc.Ports {
			if port.Protocol == model.ProtocolUDP {
				continue // sidecars do not proxy UDP
			}
			if c := b.serviceCluster(svc, port, dr, nil); c != nil {
				out = append(out, c)
			}
			for _, subset := range b.subsets(dr) {
				if c := b.serviceCluster(svc, port, dr, subset); c != nil {
					out = append(out, c)
				}
			}
		}
	}
	if !b.proxy.Proxyless {
		out = append(out, passthroughCluster(), blackHoleCluster())
	}
	b.destinationRuleWarnings()
	return out
}

// subsets are the subsets of a DestinationRule that make clusters: a subset without a name would
// make the service's own cluster again, and a name already used another cluster of that name.
func (b *builder) subsets(dr *model.DestinationRule) []*networking.Subset {
	if dr == nil {
		return nil
	}
	out := make([]*networking.Subset, 0, len(dr.Spec.Subsets))
	for i, s := range dr.Spec.Subsets {
		switch {
		case s == nil:
		case s.Name == "":
			b.warnOnce(dr.Meta, ResourceRef{}, "DestinationRule %s/%s: spec.subsets[%d].name is empty; that subset is left out", dr.Namespace, dr.Name, i)
		case slices.ContainsFunc(out, func(o *networking.Subset) bool { return o.Name == s.Name }):
			b.warnOnce(dr.Meta, ResourceRef{}, "DestinationRule %s/%s: spec.subsets[%d].name %q repeats an earlier subset's; the first is used", dr.Namespace, dr.Name, i, s.Name)
		default:
			out = append(out, s)
		}
	}
	return out
}

// serviceCluster builds the cluster of one service port, or of one subset of it, with the policy
// of its DestinationRule, and remembers what it was built from.
func (b *builder) serviceCluster(svc *model.Service, port model.Port, dr *model.DestinationRule, subset *networking.Subset) *clusterv3.Cluster {
	subsetName := ""
	if subset != nil {
		subsetName = subset.Name
	}
	b.provenance.cluster(ClusterName(port.Port, subsetName, svc.Hostname), clusterSource{svc: svc, port: port, subset: subset, dr: dr})
	return b.buildCluster(svc, port, subset, effectivePolicy(dr, port.Port, subset))
}

// buildCluster builds the cluster of a service port (or subset) with a policy.
func (b *builder) buildCluster(svc *model.Service, port model.Port, subset *networking.Subset, p policy) *clusterv3.Cluster {
	subsetName := ""
	if subset != nil {
		subsetName = subset.Name
	}
	name := ClusterName(port.Port, subsetName, svc.Hostname)
	c := &clusterv3.Cluster{Name: name, ConnectTimeout: durationpb.New(defaultConnectTimeout)}
	switch svc.Resolution {
	case model.ClientSideLB:
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource(), ServiceName: name}
	case model.Passthrough:
		if b.proxy.Proxyless {
			b.warn(serviceObject(svc), clusterRef(name), "cluster %s left out: gRPC clients cannot forward to the original destination of a headless service", name)
			return nil
		}
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	case model.DNSLB, model.DNSRoundRobinLB:
		kind := clusterv3.Cluster_STRICT_DNS
		if svc.Resolution == model.DNSRoundRobinLB || b.proxy.Proxyless {
			kind = clusterv3.Cluster_LOGICAL_DNS // the one DNS cluster type gRPC supports
		}
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: kind}
		c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
		c.LoadAssignment = b.dnsLoadAssignment(name, svc, port, subset, p)
		// Leave out what Envoy would refuse first, so that LOGICAL_DNS takes a host it accepts.
		var dropped Resources
		pruneEndpoints(&dropped, c.LoadAssignment, false, serviceObject(svc), clusterRef(name))
		b.warnings = append(b.warnings, dropped.Details...)
		if kind == clusterv3.Cluster_LOGICAL_DNS && len(c.LoadAssignment.Endpoints) > 0 {
			// LOGICAL_DNS takes exactly one host.
			lle := c.LoadAssignment.Endpoints[0]
			lle.LbEndpoints, lle.Priority = lle.LbEndpoints[:1], 0
			c.LoadAssignment.Endpoints = c.LoadAssignment.Endpoints[:1]
		}
	}
	var http httpOptions
	if port.Protocol.IsHTTP2() {
		http.change(func(o *httpOptions) { o.http2 = true })
	} else if port.Protocol == model.ProtocolUnsupported && !b.proxy.Proxyless && b.proxy.Type == model.Sidecar {
		// A sniffed port: upstream, the protocol the application spoke (Istio's use_downstream_protocol).
		http.change(func(o *httpOptions) { o.useDownstream = true })
	}
	b.applyPolicy(c, p, svc, port, &http)
	http.finish(c)
	if c.GetType() == clusterv3.Cluster_EDS { // a PASSTHROUGH load balancer may have changed the type
		b.eds = append(b.eds, edsTarget{cluster: name, svc: svc, port: port, subset: subset, policy: p})
	}
	return c
}

// dnsLoadAssignment lists the DNS names a DNS cluster resolves (its endpoints, or the external
// name), with the locality policy applied as for EDS.
func (b *builder) dnsLoadAssignment(name string, svc *model.Service, port model.Port, subset *networking.Subset, p policy) *endpointv3.ClusterLoadAssignment {
	eps := b.readyEndpoints(svc, port, subset)
	if len(eps) == 0 && svc.ExternalName != "" {
		eps = []*model.Endpoint{{Address: svc.ExternalName, Port: port.Port, Ready: true}}
	}
	return b.localityLoadAssignment(name, eps, p, false)
}
