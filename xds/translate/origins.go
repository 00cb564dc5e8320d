package translate

import (
	"slices"

	"github.com/minipilot/minipilot/model"
)

// Origins says which config objects each resource of a translation was built from: a cluster and
// its endpoint set from its DestinationRule (else its service), a route config from the
// VirtualServices (and services, Gateways) of its routes and virtual hosts, a listener from those of
// its filter chains. When a proxy refuses a resource, these are the objects to tell about it.
type Origins map[ResourceRef][]model.Meta

// OriginsOf translates the snapshot for a proxy as ForProxy does and returns the origins of every
// resource. It costs a translation: it is meant for the rare resource a proxy refused.
func OriginsOf(snap *model.Snapshot, proxy *model.Proxy, listenerNames []string) Origins {
	origins := Origins{}
	forProxy(snap, proxy, listenerNames, origins)
	return origins
}

// traceOrigins records the origins of the resources of r, from what the builder noted as it built them.
func (b *builder) traceOrigins(r *Resources) {
	add := func(ref ResourceRef, from model.Meta) {
		if from.Kind != "" && !slices.Contains(b.origins[ref], from) {
			b.origins[ref] = append(b.origins[ref], from)
		}
	}
	for _, c := range r.Clusters {
		if src, ok := b.provenance.clusters[c.Name]; ok {
			add(clusterRef(c.Name), src.object())
		}
	}
	for _, cla := range r.Endpoints {
		if src, ok := b.provenance.clusters[cla.ClusterName]; ok {
			add(endpointsRef(cla.ClusterName), src.object())
		}
	}
	for _, rc := range r.Routes {
		for _, vh := range rc.VirtualHosts {
			add(routeRef(rc.Name), b.provenance.vhosts[vh])
			for _, route := range vh.Routes {
				add(routeRef(rc.Name), b.provenance.routes[route])
			}
		}
	}
	for _, l := range r.Listeners {
		for _, fc := range l.FilterChains {
			add(listenerRef(l.Name), b.provenance.chains[fc])
		}
	}
}
