package translate

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// provenance remembers which service and rule each part of a translation came from, so that a part
// that has to be left out (a duplicate, or one Envoy would refuse) is reported on the object
// responsible and costs only what that object configures. It lives as long as one builder.
type provenance struct {
	clusters map[string]clusterSource               // cluster name → what it was built from (the first, for a duplicate)
	routes   map[*routev3.Route]model.Meta          // route → the VirtualService it was written in, or the service of a default route
	vhosts   map[*routev3.VirtualHost]model.Meta    // virtual host → its service, or the Gateway it was built for
	chains   map[*listenerv3.FilterChain]model.Meta // filter chain → the VirtualService, Gateway or service it was built for
}

// clusterSource is what a cluster was built from.
type clusterSource struct {
	svc    *model.Service
	port   model.Port
	subset *networking.Subset
	dr     *model.DestinationRule
	// inbound is the workload port of an inbound cluster; 0 for an outbound one.
	inbound uint32
}

// object is who answers for a cluster: the DestinationRule whose policy it applies, else its service.
func (s clusterSource) object() model.Meta {
	if s.dr != nil {
		return s.dr.Meta
	}
	return serviceObject(s.svc)
}

func (p *provenance) cluster(name string, src clusterSource) {
	if p.clusters == nil {
		p.clusters = map[string]clusterSource{}
	}
	if _, ok := p.clusters[name]; !ok {
		p.clusters[name] = src
	}
}

func (p *provenance) clusterObject(name string) model.Meta { return p.clusters[name].object() }

func (p *provenance) route(r *routev3.Route, from model.Meta) {
	if p.routes == nil {
		p.routes = map[*routev3.Route]model.Meta{}
	}
	p.routes[r] = from
}

func (p *provenance) vhost(vh *routev3.VirtualHost, from model.Meta) {
	if p.vhosts == nil {
		p.vhosts = map[*routev3.VirtualHost]model.Meta{}
	}
	p.vhosts[vh] = from
}

func (p *provenance) chain(c *listenerv3.FilterChain, from model.Meta) *listenerv3.FilterChain {
	if p.chains == nil {
		p.chains = map[*listenerv3.FilterChain]model.Meta{}
	}
	p.chains[c] = from
	return c
}
