package translate

import (
	"maps"
	"math"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// Locality load balancing, as Istio's loadbalancer package does it for each proxy: its locality (from
// the xDS node) and labels decide the weights and priorities of the endpoint groups it is sent.
//
// The setting in force is the DestinationRule's localityLbSetting or, without one, the mesh
// config's (Istio's default: enabled, no rules); "enabled: false" turns it off. Then, one of:
//   - distribute: the first rule whose "from" matches the proxy's locality gives each locality group
//     the weight of the "to" entry it matches (shared among the groups one wildcard entry matches);
//     groups no entry matches get no traffic;
//   - failover: only with outlier detection (without it Envoy never sees a host fail, so it never
//     drops to a lower priority). Groups get priority 0 in the proxy's subzone, 1 in its zone, 2 in
//     its region, 3 elsewhere, 4 outside a region that "failover" names for the proxy's region;
//     failoverPriority first splits every group by how many of the listed labels the endpoint
//     shares with the proxy (topology labels included).

// Topology labels Istio adds to workloads and proxies, so that failoverPriority can name them.
const (
	labelRegion  = "topology.kubernetes.io/region"
	labelZone    = "topology.kubernetes.io/zone"
	labelSubzone = "topology.istio.io/subzone"
)

// localitySetting is the locality setting in force for a policy; nil when disabled.
func (b *builder) localitySetting(lb *networking.LoadBalancerSettings) *networking.LocalityLoadBalancerSetting {
	s := b.snap.Mesh().LocalityLbSetting
	if lb != nil && lb.LocalityLbSetting != nil {
		s = lb.LocalityLbSetting
	}
	switch {
	case s == nil:
		return &networking.LocalityLoadBalancerSetting{} // enabled, no rules
	case s.Enabled == nil || *s.Enabled:
		return s
	}
	return nil
}

// applyLocalityConfig marks the cluster for locality-weighted balancing when weights or priorities
// will be set, as Istio does (otherwise Envoy ignores locality weights).
func (b *builder) applyLocalityConfig(c *clusterv3.Cluster, p policy) {
	s := b.localitySetting(p.lb)
	if s == nil {
		return
	}
	failover := p.outlier != nil && (len(s.Failover) > 0 || len(s.FailoverPriority) > 0)
	if len(s.Distribute) > 0 || failover {
		commonLbConfig(c).LocalityConfigSpecifier = &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
			LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{}}
	}
	if (len(s.Failover) > 0 || len(s.FailoverPriority) > 0) && p.outlier == nil {
		b.warnCluster(c.Name, "cluster %s: localityLbSetting failover needs outlierDetection (without it no host is ever seen to fail); failover is off", c.Name)
	}
}

// lbGroup is one LocalityLbEndpoints in the making.
type lbGroup struct {
	locality model.Locality
	eps      []*model.Endpoint
	priority uint32
	weight   uint32 // the locality's load balancing weight
}

// groupByLocality groups endpoints by locality, in a stable order; a group weighs what its endpoints do.
func groupByLocality(eps []*model.Endpoint) []*lbGroup {
	var groups []*lbGroup
	for _, ep := range eps {
		i := slices.IndexFunc(groups, func(g *lbGroup) bool { return g.locality == ep.Locality })
		if i < 0 {
			groups = append(groups, &lbGroup{locality: ep.Locality})
			i = len(groups) - 1
		}
		groups[i].eps = append(groups[i].eps, ep)
	}
	slices.SortFunc(groups, func(a, b *lbGroup) int { return strings.Compare(a.locality.String(), b.locality.String()) })
	for _, g := range groups {
		g.weight = endpointsWeight(g.eps)
	}
	return groups
}

// endpointsWeight is what a group of endpoints weighs, at most what a weight can be (buildLoadAssignment
// then makes the sums fit).
func endpointsWeight(eps []*model.Endpoint) uint32 {
	w := uint64(0)
	for _, ep := range eps {
		w += uint64(max(ep.Weight, 1))
	}
	return uint32(min(w, math.MaxUint32))
}

// applyLocalityLB sets weights and priorities on the groups for this proxy.
func (b *builder) applyLocalityLB(groups []*lbGroup, p policy, withPriorityLabels bool) []*lbGroup {
	s := b.localitySetting(p.lb)
	switch {
	case s == nil:
		return groups
	case len(s.Distribute) > 0:
		return b.distribute(groups, s.Distribute)
	case p.outlier == nil:
		return groups
	}
	if len(s.FailoverPriority) > 0 {
		proxyLabels := withTopology(b.proxy.Labels, b.proxy.Locality)
		if !withPriorityLabels || len(proxyLabels) == 0 {
			return groups // as Istio: nothing to compare with
		}
		groups = splitByPriorityLabels(groups, proxyLabels, s.FailoverPriority)
		if len(s.Failover) == 0 {
			return compactPriorities(groups)
		}
	}
	return compactPriorities(b.localityFailover(groups, s.Failover))
}

func (b *builder) distribute(groups []*lbGroup, rules []*networking.LocalityDistribute) []*lbGroup {
	for _, rule := range rules {
		if !localityMatch(b.proxy.Locality, rule.From) {
			continue
		}
		matched := make([]bool, len(groups))
		var out []*lbGroup
		for _, to := range slices.Sorted(maps.Keys(rule.To)) { // sorted: deterministic, and validation forbids overlaps
			total := 0.0
			var hit []int
			for i, g := range groups {
				if !matched[i] && localityMatch(g.locality, to) {
					matched[i] = true
					hit = append(hit, i)
					total += float64(g.weight)
				}
			}
			for _, i := range hit {
				g := *groups[i]
				if w := math.Ceil(float64(g.weight) * float64(rule.To[to]) / total); w > 0 {
					g.weight = uint32(min(w, math.MaxUint32))
				}
				out = append(out, &g)
			}
		}
		// Groups no entry names get no traffic: Istio empties them, minipilot leaves them out.
		slices.SortFunc(out, func(a, b *lbGroup) int { return strings.Compare(a.locality.String(), b.locality.String()) })
		return out
	}
	return groups
}

// localityFailover is Istio's applyLocalityFailover: priorities by proximity, 4 for a region the
// failover rule of the proxy's region does not name, on top of priorities already set.
func (b *builder) localityFailover(groups []*lbGroup, failover []*networking.LocalityFailover) []*lbGroup {
	me := b.proxy.Locality
	for _, g := range groups {
		p := proximity(me, g.locality)
		if p == 3 {
			for _, f := range failover {
				if f.From == me.Region {
					if g.locality.Region != f.To {
						p = 4
					}
					break
				}
			}
		}
		g.priority = g.priority*5 + p
	}
	return groups
}

// proximity is Istio's LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere.
func proximity(proxy, ep model.Locality) uint32 {
	switch {
	case proxy.Region != ep.Region:
		return 3
	case proxy.Zone != ep.Zone:
		return 2
	case proxy.SubZone != ep.SubZone:
		return 1
	}
	return 0
}

// splitByPriorityLabels is Istio's applyFailoverPriorityPerLocality: within each group, an endpoint
// that differs from the proxy first on the j-th of n labels gets priority n-j; "label=value" compares
// with that value instead of the proxy's.
func splitByPriorityLabels(groups []*lbGroup, proxyLabels map[string]string, priorities []string) []*lbGroup {
	var out []*lbGroup
	for _, g := range groups {
		byPriority := map[uint32][]*model.Endpoint{}
		for _, ep := range g.eps {
			epLabels := withTopology(ep.Labels, ep.Locality)
			p := uint32(0)
			for j, entry := range priorities {
				name, want, pinned := strings.Cut(entry, "=")
				if !pinned {
					want = proxyLabels[name]
				}
				if epLabels[name] != want {
					p = uint32(len(priorities) - j)
					break
				}
			}
			byPriority[p] = append(byPriority[p], ep)
		}
		for _, p := range slices.Sorted(maps.Keys(byPriority)) {
			out = append(out, &lbGroup{locality: g.locality, eps: byPriority[p], priority: p, weight: endpointsWeight(byPriority[p])})
		}
	}
	return out
}

// compactPriorities renumbers priorities 0..N without gaps, as Envoy requires.
func compactPriorities(groups []*lbGroup) []*lbGroup {
	var seen []uint32
	for _, g := range groups {
		if !slices.Contains(seen, g.priority) {
			seen = append(seen, g.priority)
		}
	}
	slices.Sort(seen)
	for _, g := range groups {
		g.priority = uint32(slices.Index(seen, g.priority))
	}
	return groups
}

// localityMatch is Istio's LocalityMatch: "region/zone/subzone" with "*" or a missing part matching anything.
func localityMatch(l model.Locality, rule string) bool {
	parts := strings.SplitN(rule, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return (parts[0] == "*" || parts[0] == l.Region) &&
		(parts[1] == "*" || parts[1] == "" || parts[1] == l.Zone) &&
		(parts[2] == "*" || parts[2] == "" || parts[2] == l.SubZone)
}

// withTopology adds the topology labels of a locality, as Istio does for workloads and proxies.
func withTopology(labels map[string]string, l model.Locality) map[string]string {
	if l.IsZero() {
		return labels
	}
	out := make(map[string]string, len(labels)+3)
	for k, v := range labels {
		out[k] = v
	}
	out[labelRegion], out[labelZone], out[labelSubzone] = l.Region, l.Zone, l.SubZone
	return out
}
