package translate

import (
	"cmp"
	"slices"

	"github.com/minipilot/minipilot/model"
)

// EndpointPlan is how a translation's endpoint sets were made: its EDS clusters and what each
// balances over. It rebuilds those sets alone when only endpoints changed, which is the common event
// of a living mesh, without translating clusters, listeners or routes again.
type EndpointPlan struct {
	proxy   *model.Proxy
	targets []edsTarget // sorted by cluster name
}

// plan records the EDS clusters a finished translation kept.
func (b *builder) plan(r *Resources) *EndpointPlan {
	kept := make(map[string]bool, len(r.Endpoints))
	for _, cla := range r.Endpoints {
		kept[cla.ClusterName] = true
	}
	p := &EndpointPlan{proxy: b.proxy}
	for _, t := range b.eds {
		if kept[t.cluster] {
			p.targets = append(p.targets, t)
		}
	}
	slices.SortStableFunc(p.targets, func(a, b edsTarget) int { return cmp.Compare(a.cluster, b.cluster) })
	p.targets = slices.CompactFunc(p.targets, func(a, b edsTarget) bool { return a.cluster == b.cluster })
	return p
}

// Rebuild translates again, from snap, the endpoint sets of the clusters whose service is one of
// hosts: the assignments sorted by cluster name, validated as Outbound validates them, with their
// warnings. Only endpoints may differ between snap and the snapshot the plan was made from; for any
// other change translate from scratch.
func (p *EndpointPlan) Rebuild(snap *model.Snapshot, hosts map[string]bool) *Resources {
	b := &builder{snap: snap, proxy: p.proxy}
	var r Resources
	for _, t := range p.targets {
		if !hosts[t.svc.Hostname] {
			continue
		}
		cla := b.localityLoadAssignment(t.cluster, b.readyEndpoints(t.svc, t.port, t.subset), t.policy, true)
		b.validEndpointsOf(&r, cla, serviceObject(t.svc))
		r.Endpoints = append(r.Endpoints, cla)
	}
	r.Details = append(b.warnings, r.Details...)
	r.Warnings = messages(r.Details)
	return &r
}

// EndpointsOnlyInEDS says whether a service's endpoints reach proxies only through EDS (and the
// inbound side of the proxies at their addresses), so that a change to them alone can take the
// endpoint fast path. A DNS service's endpoints are in its clusters.
func EndpointsOnlyInEDS(svc *model.Service) bool {
	return svc.Resolution == model.ClientSideLB || svc.Resolution == model.Passthrough
}

// Clusters lists the EDS clusters of the plan, for tests.
func (p *EndpointPlan) Clusters() []string {
	out := make([]string, len(p.targets))
	for i, t := range p.targets {
		out[i] = t.cluster
	}
	return out
}
