package model

import (
	"maps"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

// WorkloadSelectors are the label selectors with which the snapshot's rules choose workloads (the
// proxies themselves, not their destinations): VirtualService match sourceLabels, DestinationRule
// workloadSelector, Gateway selector, Sidecar workloadSelector. A proxy's labels matter to its
// config only through these and through the failover priority labels; two proxies that match the same selectors and agree on
// those labels get the same config, however else their labels differ.
func (s *Snapshot) WorkloadSelectors() []map[string]string { return s.selectors.selectors }

// FailoverPriorityLabels are the label keys locality failover compares between a proxy and the
// endpoints (DestinationRule localityLbSetting.failoverPriority), sorted.
func (s *Snapshot) FailoverPriorityLabels() []string { return s.selectors.failoverKeys }

// SameSelectors says whether two snapshots have the same workload selectors, in the same order, and
// the same failover priority labels: only then does a view key (which says which of them a proxy
// matches, by position) mean the same proxies in both.
func (s *Snapshot) SameSelectors(o *Snapshot) bool {
	return slices.EqualFunc(s.selectors.selectors, o.selectors.selectors, func(a, b map[string]string) bool { return maps.Equal(a, b) }) &&
		slices.Equal(s.selectors.failoverKeys, o.selectors.failoverKeys)
}

type selectorIndex struct {
	selectors    []map[string]string
	failoverKeys []string
}

func (s *Snapshot) indexSelectors() {
	seen := map[string]bool{}
	add := func(sel map[string]string) {
		if len(sel) == 0 {
			return // selects everything: every proxy matches, nothing to tell them apart by
		}
		key := selectorKey(sel)
		if !seen[key] {
			seen[key] = true
			s.selectors.selectors = append(s.selectors.selectors, sel)
		}
	}
	for _, vs := range s.VirtualServices {
		for _, h := range vs.Spec.HTTP {
			for _, m := range h.Match {
				add(m.SourceLabels)
			}
		}
		for _, t := range vs.Spec.TCP {
			for _, m := range t.Match {
				add(m.SourceLabels)
			}
		}
		for _, t := range vs.Spec.TLS {
			for _, m := range t.Match {
				add(m.SourceLabels)
			}
		}
	}
	keys := map[string]bool{}
	for _, dr := range s.DestinationRules {
		if sel := dr.Spec.WorkloadSelector; sel != nil {
			add(sel.MatchLabels)
		}
		for _, lb := range loadBalancers(dr.Spec) {
			if lb.LocalityLbSetting == nil {
				continue
			}
			for _, p := range lb.LocalityLbSetting.FailoverPriority {
				key, _, _ := strings.Cut(p, "=")
				keys[key] = true
			}
		}
	}
	for _, gw := range s.Gateways {
		add(gw.Spec.Selector)
	}
	if m := s.mesh.LocalityLbSetting; m != nil {
		for _, p := range m.FailoverPriority {
			key, _, _ := strings.Cut(p, "=")
			keys[key] = true
		}
	}
	for _, sc := range s.Sidecars {
		if sel := sc.Spec.WorkloadSelector; sel != nil {
			add(sel.Labels)
		}
	}
	s.selectors.failoverKeys = slices.Sorted(maps.Keys(keys))
}

// loadBalancers lists every load balancer setting of a DestinationRule: its own, its ports', its
// subsets' and their ports'.
func loadBalancers(spec *networking.DestinationRule) []*networking.LoadBalancerSettings {
	var out []*networking.LoadBalancerSettings
	addPolicy := func(tp *networking.TrafficPolicy) {
		if tp == nil {
			return
		}
		if tp.LoadBalancer != nil {
			out = append(out, tp.LoadBalancer)
		}
		for _, p := range tp.PortLevelSettings {
			if p.LoadBalancer != nil {
				out = append(out, p.LoadBalancer)
			}
		}
	}
	addPolicy(spec.TrafficPolicy)
	for _, sub := range spec.Subsets {
		addPolicy(sub.TrafficPolicy)
	}
	return out
}

func selectorKey(sel map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(sel[k])
		b.WriteByte(0)
	}
	return b.String()
}
