// Package translate turns a model snapshot into the Envoy resources one proxy needs. Every function
// here is pure: the same snapshot and proxy give the same resources, sorted by name, so that resource
// versions can be content hashes and an unchanged input never causes a push.
package translate

import (
	"cmp"
	"fmt"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
)

// Resources are the xDS resources of one proxy, each list sorted by name.
type Resources struct {
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	// Warnings say what was left out or is probably wrong (an unknown destination, a resource that
	// failed validation), for logs and the debug endpoints.
	Warnings []string
}

// builder carries what a translation needs and collects warnings.
type builder struct {
	snap     *model.Snapshot
	proxy    *model.Proxy
	services []*model.Service // the services visible to the proxy, sorted by hostname
	eds      []edsTarget      // the EDS clusters built so far
	// gateways holds, while a router's Gateway server is built, that gateway's name ("ns/name"), for
	// VirtualService binding; empty for sidecars and gRPC clients, which are "mesh" (binding.go).
	gateways []string
	warnings []string
}

func newBuilder(snap *model.Snapshot, proxy *model.Proxy) *builder {
	b := &builder{snap: snap, proxy: proxy}
	for _, svc := range snap.Services {
		if svc.VisibleTo(proxy.Namespace) {
			b.services = append(b.services, svc)
		}
	}
	return b
}

func (b *builder) warnf(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

// ForProxy translates the snapshot for one proxy: the full config of an Envoy sidecar (outbound, and
// inbound for its own workload), of a router (the Gateways that select it), or, for a proxyless gRPC
// client, the API listeners it asked for and what they lead to. It is Outbound and Inbound together.
func ForProxy(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string) *Resources {
	out := Outbound(snap, proxy, listenerNames)
	in := Inbound(snap, proxy)
	out.Clusters = append(out.Clusters, in.Clusters...)
	out.Listeners = append(out.Listeners, in.Listeners...)
	out.Warnings = append(out.Warnings, in.Warnings...)
	out.sort()
	return out
}

// Outbound is everything of ForProxy but a sidecar's inbound side. It reads only what CacheKey
// covers, so proxies of one kind (say, the replicas of a deployment) share one Outbound.
func Outbound(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string) *Resources {
	b := newBuilder(snap, proxy)
	var r Resources
	switch {
	case proxy.Proxyless:
		r = b.proxyless(listenerNames)
	case proxy.Type == model.Router:
		r = b.gatewayResources()
	default:
		r.Clusters = b.clusters()
		r.Endpoints = b.endpoints()
		r.Listeners = b.listeners()
		r.Routes = b.routeConfigs()
	}
	r.Warnings = b.warnings
	r.validate()
	r.sort()
	return &r
}

// Inbound is a sidecar's inbound side (with iptables interception): the virtualInbound listener and
// an inbound cluster per port its own workload serves. It depends on the proxy's own IP, so it is
// translated per proxy; it is small.
func Inbound(snap *model.Snapshot, proxy *model.Proxy) *Resources {
	var r Resources
	if proxy.Proxyless || proxy.Type != model.Sidecar || proxy.InterceptionMode == model.InterceptionNone {
		return &r
	}
	b := newBuilder(snap, proxy)
	r.Clusters = b.inboundClusters()
	if l := b.virtualInboundListener(); l != nil {
		r.Listeners = append(r.Listeners, l)
	}
	r.Warnings = b.warnings
	r.validate()
	r.sort()
	return &r
}

func (r *Resources) sort() {
	slices.SortFunc(r.Clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int { return cmp.Compare(a.ClusterName, b.ClusterName) })
	slices.SortFunc(r.Listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Routes, func(a, b *routev3.RouteConfiguration) int { return cmp.Compare(a.Name, b.Name) })
}

// validate drops every resource that Envoy would refuse (ValidateAll is the proto's own rules, the
// ones Envoy checks on receipt), so that one bad resource never costs a proxy its whole update.
func (r *Resources) validate() {
	r.Clusters = keepValid(r, "cluster", r.Clusters, (*clusterv3.Cluster).GetName)
	r.Endpoints = keepValid(r, "endpoints", r.Endpoints, (*endpointv3.ClusterLoadAssignment).GetClusterName)
	r.Listeners = keepValid(r, "listener", r.Listeners, (*listenerv3.Listener).GetName)
	r.Routes = keepValid(r, "route", r.Routes, (*routev3.RouteConfiguration).GetName)
}

type validatable interface {
	proto.Message
	ValidateAll() error
}

func keepValid[T validatable](r *Resources, kind string, in []T, name func(T) string) []T {
	out := in[:0]
	for _, res := range in {
		if err := res.ValidateAll(); err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s left out: it fails validation: %v", kind, name(res), err))
			continue
		}
		out = append(out, res)
	}
	return out
}

// ClusterName is Istio's name for an outbound cluster: "outbound|<port>|<subset>|<host>".
func ClusterName(port uint32, subset, host string) string {
	return fmt.Sprintf("outbound|%d|%s|%s", port, subset, host)
}

// CacheKey says which proxies get the same Outbound translation of a snapshot: it covers every proxy
// field Outbound reads, and nothing else, so proxies with equal keys may share one result.
func CacheKey(p *model.Proxy, listenerNames []string) string {
	labels := make([]string, 0, len(p.Labels))
	for k, v := range p.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	names := slices.Clone(listenerNames)
	slices.Sort(names)
	// Locality weights and priorities depend on the locality. The proxy's IP is left out on purpose:
	// only Inbound reads it.
	return fmt.Sprintf("%s|%s|%t|%s|%q|%q|%s", p.Type, p.Namespace, p.Proxyless, p.InterceptionMode, labels, names, p.Locality)
}
