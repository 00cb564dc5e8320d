// Package translate turns a model snapshot into the Envoy resources one proxy needs. Every function
// here is pure: the same snapshot and proxy give the same resources, sorted by name, so that resource
// versions can be content hashes and an unchanged input never causes a push.
package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"unique"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/model"
)

// Resources are the xDS resources of one proxy, each list sorted by name.
type Resources struct {
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	// EncodedRoutes are the route configs as bytes, in place of Routes, from SidecarListenersKeeping.
	EncodedRoutes []EncodedRoute
	// Warnings say what was left out or is probably wrong (an unknown destination, a resource that
	// failed validation), for logs and the debug endpoints: one line each, Details[i].String().
	Warnings []string
	// Details are the same warnings, in the same order, with the config object each is about and the
	// resource it concerns, so that they can be reported on the object (log fields, Events).
	Details []Warning
	// Plan rebuilds the endpoint sets alone, for a change that touched only endpoints.
	Plan *EndpointPlan
}

// builder carries what a translation needs and collects warnings.
type builder struct {
	snap     *model.Snapshot
	proxy    *model.Proxy
	services []*model.Service // the services visible to the proxy (in its Sidecar scope), sorted by hostname
	eds      []edsTarget      // the EDS clusters built so far
	// gateways holds, while a router's Gateway server is built, that gateway's name ("ns/name"), for
	// VirtualService binding; empty for sidecars and gRPC clients, which are "mesh" (binding.go).
	gateways []string
	warnings []Warning
	// fixed holds, by hostname, the services whose ports are not all served, with only those that
	// are (serviceports.go); nil when every port of every service is.
	fixed      map[string]*model.Service
	provenance provenance
	// scope is a sidecar's Sidecar scope (scope.go); nil for routers.
	scope *scope
	// origins, when set, collects which config objects each resource was built from (Origins).
	origins Origins
	// Set by SidecarListenersKeeping (keptroutes.go): the virtual hosts of the view's last
	// translation, the stand-ins taken from them (and the route configs that hold some), what each
	// virtual host translated here read and warned (recording: of the one being translated), and
	// the route configs validation cut into.
	kept            *KeptRoutes
	standIns        map[*routev3.VirtualHost]*keptHost
	standInRoutes   map[string]bool
	translatedHosts map[*routev3.VirtualHost]*hostRecord
	recording       *hostRecord
	revalidated     map[string]bool
}

// newBuilder is a builder for a proxy's outbound side; it records the origins of what it builds
// into origins (nil: none).
func newBuilder(snap *model.Snapshot, proxy *model.Proxy, origins Origins) *builder {
	b := newInboundBuilder(snap, proxy, origins)
	var visible []*model.Service
	for _, svc := range snap.Services {
		svc = b.served(svc)
		if snap.ServiceVisibleTo(svc, proxy.Namespace) {
			visible = append(visible, svc)
		}
	}
	b.services = b.scoped(visible)
	return b
}

// newInboundBuilder is a builder for the inbound side alone: the services as served and the
// proxy's Sidecar (for its ingress listeners), without the outbound scope, which costs a pass over
// the mesh that every proxy's inbound translation would repeat.
func newInboundBuilder(snap *model.Snapshot, proxy *model.Proxy, origins Origins) *builder {
	b := &builder{snap: snap, proxy: proxy, origins: origins}
	for _, svc := range snap.Services {
		if served, _ := servedService(svc); served != svc {
			if b.fixed == nil {
				b.fixed = map[string]*model.Service{}
			}
			b.fixed[svc.Hostname] = served
		}
	}
	if proxy.Type == model.Sidecar {
		sc := snap.SidecarFor(proxy.Namespace, proxy.Labels)
		b.scope = &scope{SidecarScope: &model.SidecarScope{Sidecar: sc}}
	}
	return b
}

// served is svc as the translator serves it (see serviceports.go).
func (b *builder) served(svc *model.Service) *model.Service {
	if fixed, ok := b.fixed[svc.Hostname]; ok {
		return fixed
	}
	return svc
}

// ForProxy translates the snapshot for one proxy: the full config of an Envoy sidecar (outbound, and
// inbound for its own workload), of a router (the Gateways that select it), or, for a proxyless gRPC
// client, the API listeners it asked for and what they lead to. It is Outbound and Inbound together.
func ForProxy(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string) *Resources {
	return forProxy(snap, proxy, listenerNames, nil)
}

func forProxy(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string, origins Origins) *Resources {
	out := outbound(snap, proxy, listenerNames, origins)
	in := inbound(snap, proxy, origins)
	out.Clusters = append(out.Clusters, in.Clusters...)
	out.Listeners = append(out.Listeners, in.Listeners...)
	out.Details = append(out.Details, in.Details...)
	out.sort()
	out.uniqueNames(nil)
	out.Warnings = messages(out.Details)
	return out
}

// Outbound is everything of ForProxy but a sidecar's inbound side. It reads only what ViewKey
// covers, so proxies of one kind (say, the replicas of a deployment) share one Outbound.
func Outbound(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string) *Resources {
	return outbound(snap, proxy, listenerNames, nil)
}

func outbound(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string, origins Origins) *Resources {
	if !proxy.Proxyless && proxy.Type != model.Router {
		return sidecarClusters(snap, proxy, origins).Merge(sidecarListeners(snap, proxy, origins))
	}
	b := newBuilder(snap, proxy, origins)
	b.warnUnservedPorts()
	b.warnShadowedSidecars()
	var r Resources
	if proxy.Proxyless {
		r = b.proxyless(listenerNames)
	} else {
		r = b.gatewayResources()
	}
	b.finish(&r)
	return &r
}

// SidecarClusters is the cluster half of a sidecar's Outbound: its clusters and their endpoint
// sets. It reads services, endpoints, DestinationRules and the Sidecar scope, and a VirtualService
// only through a Sidecar (whose egress imports the destinations of the VirtualServices it imports):
// without Sidecars, a change to VirtualServices alone keeps it (model.Change.RoutingOnly).
func SidecarClusters(snap *model.Snapshot, proxy *model.Proxy) *Resources {
	return sidecarClusters(snap, proxy, nil)
}

func sidecarClusters(snap *model.Snapshot, proxy *model.Proxy, origins Origins) *Resources {
	b := newBuilder(snap, proxy, origins)
	b.warnUnservedPorts()
	b.warnShadowedSidecars()
	r := Resources{Clusters: b.clusters()}
	r.Endpoints = b.endpoints()
	b.finish(&r)
	return &r
}

// SidecarListeners is the listener half of a sidecar's Outbound: its listeners and route configs.
// Routes name clusters but do not depend on them: a route to a cluster left out stays (validate.go).
func SidecarListeners(snap *model.Snapshot, proxy *model.Proxy) *Resources {
	return sidecarListeners(snap, proxy, nil)
}

func sidecarListeners(snap *model.Snapshot, proxy *model.Proxy, origins Origins) *Resources {
	b := newBuilder(snap, proxy, origins)
	r := Resources{Listeners: b.listeners()}
	r.Routes = b.routeConfigs()
	b.finish(&r)
	return &r
}

// Merge joins the two halves of a sidecar's Outbound (the cluster half is r): their resources are
// of different types, and a warning both report is kept once.
func (r *Resources) Merge(listeners *Resources) *Resources {
	out := &Resources{Clusters: r.Clusters, Endpoints: r.Endpoints, Listeners: listeners.Listeners, Routes: listeners.Routes,
		EncodedRoutes: listeners.EncodedRoutes, Details: slices.Clone(r.Details), Plan: r.Plan}
	for _, w := range listeners.Details {
		if !slices.Contains(r.Details, w) {
			out.Details = append(out.Details, w)
		}
	}
	out.Warnings = messages(out.Details)
	return out
}

// Inbound is a sidecar's inbound side (with iptables interception): the virtualInbound listener and
// an inbound cluster per port its own workload serves. It depends on the proxy's own IP, so it is
// translated per proxy; it is small.
func Inbound(snap *model.Snapshot, proxy *model.Proxy) *Resources { return inbound(snap, proxy, nil) }

func inbound(snap *model.Snapshot, proxy *model.Proxy, origins Origins) *Resources {
	var r Resources
	if proxy.Proxyless || proxy.Type != model.Sidecar || proxy.InterceptionMode == model.InterceptionNone {
		return &r
	}
	b := newInboundBuilder(snap, proxy, origins)
	r.Clusters = b.inboundClusters()
	if l := b.virtualInboundListener(); l != nil {
		r.Listeners = append(r.Listeners, l)
	}
	b.finish(&r)
	return &r
}

// finish makes the resources safe to send, whatever the snapshot held (see unique.go and
// validate.go), sorts them and sets the warnings.
func (b *builder) finish(r *Resources) {
	r.sort()
	r.Details = b.warnings
	r.uniqueNames(&b.provenance)
	b.uniqueWithin(r)
	b.validate(r)
	r.Warnings = messages(r.Details)
	r.Plan = b.plan(r)
	if b.origins != nil {
		b.traceOrigins(r)
	}
}

// warn records a warning found once the resources are built.
func (r *Resources) warn(obj model.Meta, res ResourceRef, format string, args ...any) {
	r.Details = append(r.Details, Warning{Object: obj, Resource: res, Message: fmt.Sprintf(format, args...)})
}

// sort orders each list by name. The sort is stable: resources of one name (which uniqueNames then
// resolves) stay in the order they were built in, which is the snapshot's, so the first one wins.
func (r *Resources) sort() {
	slices.SortStableFunc(r.Clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(r.Endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int { return cmp.Compare(a.ClusterName, b.ClusterName) })
	slices.SortStableFunc(r.Listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(r.Routes, func(a, b *routev3.RouteConfiguration) int { return cmp.Compare(a.Name, b.Name) })
}

// ClusterName is Istio's name for an outbound cluster: "outbound|<port>|<subset>|<host>". Every
// view of a mesh names the same clusters, and keeps the names in its plans and route configs: the
// name is interned, so that ten views of 3,000 clusters hold one copy of each, not ten.
func ClusterName(port uint32, subset, host string) string {
	return intern("outbound|" + strconv.FormatUint(uint64(port), 10) + "|" + subset + "|" + host)
}

// intern is the canonical copy of s: strings every view builds alike are held once.
func intern(s string) string { return unique.Make(s).Value() }
