package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

// DestinationRuleMerge records DestinationRules that Istio folds into one: same namespace, same host,
// same workloadSelector and same exportTo. Into is the merged rule (named after the oldest); Notes say
// what the merge left out, for warnings.
type DestinationRuleMerge struct {
	Into  *DestinationRule
	From  []*DestinationRule
	Notes []string
}

// MergeDestinationRules merges rules (oldest first) as Istio does: the oldest rule is the base; every
// later rule adds the subsets whose names are new, and its top-level trafficPolicy only if no earlier
// rule has one. resolve turns a rule's host into the name it covers.
func MergeDestinationRules(rules []*DestinationRule, resolve func(host, namespace string) string) []DestinationRuleMerge {
	var order []string
	groups := map[string][]*DestinationRule{}
	for _, dr := range rules {
		key := mergeKey(dr, resolve)
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], dr)
	}
	out := make([]DestinationRuleMerge, 0, len(order))
	for _, key := range order {
		out = append(out, merge(groups[key]))
	}
	return out
}

// DestinationRuleMerges lists the merges of several rules in the snapshot, for warnings.
func (s *Snapshot) DestinationRuleMerges() []DestinationRuleMerge {
	var out []DestinationRuleMerge
	for _, m := range s.drMerges {
		if len(m.From) > 0 {
			out = append(out, m)
		}
	}
	return out
}

func mergeKey(dr *DestinationRule, resolve func(host, namespace string) string) string {
	var selector []string
	if ws := dr.Spec.WorkloadSelector; ws != nil {
		selector = append(selector, "selector")
		for _, k := range slices.Sorted(maps.Keys(ws.MatchLabels)) {
			selector = append(selector, k+"="+ws.MatchLabels[k])
		}
	}
	exportTo := slices.Sorted(slices.Values(dr.Spec.ExportTo))
	return fmt.Sprintf("%s|%s|%q|%q", dr.Namespace, resolve(dr.Spec.Host, dr.Namespace), selector, exportTo)
}

func merge(rules []*DestinationRule) DestinationRuleMerge {
	base := rules[0]
	if len(rules) == 1 {
		return DestinationRuleMerge{Into: base}
	}
	spec := *base.Spec
	spec.Subsets = slices.Clone(base.Spec.Subsets)
	m := DestinationRuleMerge{From: rules[1:]}
	policyFrom := base
	for _, dr := range rules[1:] {
		for _, s := range dr.Spec.Subsets {
			if i := slices.IndexFunc(spec.Subsets, func(have *networking.Subset) bool { return have.Name == s.Name }); i >= 0 {
				m.Notes = append(m.Notes, fmt.Sprintf("subset %q of DestinationRule %s/%s is ignored: an older rule for the same host defines it",
					s.Name, dr.Namespace, dr.Name))
				continue
			}
			spec.Subsets = append(spec.Subsets, s)
		}
		switch {
		case dr.Spec.TrafficPolicy == nil:
		case spec.TrafficPolicy == nil:
			spec.TrafficPolicy, policyFrom = dr.Spec.TrafficPolicy, dr
		default:
			m.Notes = append(m.Notes, fmt.Sprintf("the trafficPolicy of DestinationRule %s/%s is ignored: the one of %s/%s applies",
				dr.Namespace, dr.Name, policyFrom.Namespace, policyFrom.Name))
		}
	}
	merged := *base
	merged.Spec = &spec
	m.Into = &merged
	names := make([]string, len(rules))
	for i, dr := range rules {
		names[i] = dr.Namespace + "/" + dr.Name
	}
	m.Notes = append([]string{fmt.Sprintf("DestinationRules %s are for the same host and are merged, as Istio does",
		strings.Join(names, ", "))}, m.Notes...)
	return m
}
