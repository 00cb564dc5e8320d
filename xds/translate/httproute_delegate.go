package translate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// httpRules lists a VirtualService's HTTP rules in order, each delegating rule replaced by the
// delegate's rules, merged with it, as Istio does. Delegation is one level deep.
func (b *builder) httpRules(vs *model.VirtualService) []httpRule {
	var out []httpRule
	for i, hr := range vs.Spec.HTTP {
		where := fmt.Sprintf("VirtualService %s/%s http[%d]", vs.Namespace, vs.Name, i)
		if hr.Delegate == nil {
			out = append(out, httpRule{vs: vs, route: hr, name: fmt.Sprintf("%s.%s.%d", vs.Name, vs.Namespace, i), where: where})
			continue
		}
		d := b.delegateOf(vs, hr.Delegate, where)
		if d == nil {
			continue
		}
		for j, child := range d.Spec.HTTP {
			childWhere := fmt.Sprintf("%s (delegated to %s/%s http[%d])", where, d.Namespace, d.Name, j)
			if child.Delegate != nil {
				b.warnOnce(d.Meta, ResourceRef{}, "%s: a delegate cannot delegate again (Istio supports one level); route left out", childWhere)
				continue
			}
			merged, ok := mergeDelegated(hr, child)
			if !ok {
				b.warnOnce(d.Meta, ResourceRef{}, "%s: its match conditions conflict with the delegating route's (each must narrow one of them); route left out", childWhere)
				continue
			}
			out = append(out, httpRule{vs: d, route: merged, name: fmt.Sprintf("%s.%s.%d.%d", vs.Name, vs.Namespace, i, j), where: childWhere})
		}
	}
	return out
}

// delegateOf finds the VirtualService a rule delegates to (in the rule's namespace unless it names
// one). As in Istio, only a VirtualService without hosts is a delegate, and it must be exported to
// the delegating VirtualService's namespace; otherwise the rule is left out.
func (b *builder) delegateOf(vs *model.VirtualService, ref *networking.Delegate, where string) *model.VirtualService {
	ns := ref.Namespace
	if ns == "" {
		ns = vs.Namespace
	}
	d := b.virtualServiceNamed(ns, ref.Name)
	switch {
	case d == nil:
		b.warnOnce(vs.Meta, ResourceRef{}, "%s: delegate VirtualService %s/%s does not exist; route left out", where, ns, ref.Name)
	case len(d.Spec.Hosts) > 0:
		b.warnOnce(vs.Meta, ResourceRef{}, "%s: VirtualService %s/%s has hosts, so it is not a delegate (a delegate has none); route left out", where, ns, ref.Name)
	case !b.snap.ExportedTo(model.KindVirtualService, d.Spec.ExportTo, d.Namespace, vs.Namespace):
		b.warnOnce(vs.Meta, ResourceRef{}, "%s: delegate VirtualService %s/%s is not exported to namespace %s; route left out", where, ns, ref.Name, vs.Namespace)
	default:
		return d
	}
	return nil
}

// mergeDelegated merges a delegating rule into one of its delegate's rules, as Istio does: each of the
// child's match blocks must narrow some block of the parent and is ANDed with every block it does not
// conflict with; what the child leaves unset (name, rewrite, timeout, retries, fault, mirrors, CORS,
// headers) it takes from the parent. false when a child block conflicts with every parent block.
func mergeDelegated(parent, child *networking.HTTPRoute) (*networking.HTTPRoute, bool) {
	matches, ok := mergeMatches(parent.Match, child.Match)
	if !ok {
		return nil, false
	}
	out := *child
	out.Match = matches
	if out.Name == "" {
		out.Name = parent.Name
	} else if parent.Name != "" {
		out.Name = parent.Name + "-" + out.Name
	}
	inherit(&out.Rewrite, parent.Rewrite)
	inherit(&out.DirectResponse, parent.DirectResponse)
	inherit(&out.Timeout, parent.Timeout)
	inherit(&out.Retries, parent.Retries)
	inherit(&out.Fault, parent.Fault)
	inherit(&out.Mirror, parent.Mirror)
	inherit(&out.MirrorPercent, parent.MirrorPercent)
	inherit(&out.MirrorPercentage, parent.MirrorPercentage)
	inherit(&out.CorsPolicy, parent.CorsPolicy)
	inherit(&out.Headers, parent.Headers)
	if out.Mirrors == nil {
		out.Mirrors = parent.Mirrors
	}
	return &out, true
}

func inherit[T any](field **T, parent *T) {
	if *field == nil {
		*field = parent
	}
}

func mergeMatches(parent, child []*networking.HTTPMatchRequest) ([]*networking.HTTPMatchRequest, bool) {
	if len(parent) == 0 {
		return child, true
	}
	if len(child) == 0 {
		return parent, true
	}
	var out []*networking.HTTPMatchRequest
	for _, c := range child {
		found := false
		for _, p := range parent {
			if matchesConflict(p, c) {
				continue
			}
			out = append(out, mergeMatch(p, c))
			found = true
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// mergeMatch ANDs two match blocks; where both set a condition, the child's wins.
func mergeMatch(parent, child *networking.HTTPMatchRequest) *networking.HTTPMatchRequest {
	out := *child
	if out.Name == "" {
		out.Name = parent.Name
	} else if parent.Name != "" {
		out.Name = parent.Name + "-" + out.Name
	}
	inherit(&out.URI, parent.URI)
	inherit(&out.Scheme, parent.Scheme)
	inherit(&out.Method, parent.Method)
	inherit(&out.Authority, parent.Authority)
	out.Headers = mergeMaps(parent.Headers, child.Headers)
	out.WithoutHeaders = mergeMaps(parent.WithoutHeaders, child.WithoutHeaders)
	out.QueryParams = mergeMaps(parent.QueryParams, child.QueryParams)
	out.SourceLabels = mergeMaps(parent.SourceLabels, child.SourceLabels)
	if out.Port == 0 {
		out.Port = parent.Port
	}
	if out.SourceNamespace == "" {
		out.SourceNamespace = parent.SourceNamespace
	}
	if len(out.Gateways) == 0 {
		out.Gateways = parent.Gateways
	}
	if out.StatPrefix == "" {
		out.StatPrefix = parent.StatPrefix
	}
	return &out
}

func mergeMaps[V any](parent, child map[string]V) map[string]V {
	if len(parent) == 0 && len(child) == 0 {
		return nil
	}
	out := maps.Clone(parent)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, child)
	return out
}

// matchesConflict says whether a child block cannot narrow a parent block, by Istio's rules.
func matchesConflict(parent, child *networking.HTTPMatchRequest) bool {
	for _, pair := range [][2]*networking.StringMatch{
		{parent.URI, child.URI}, {parent.Scheme, child.Scheme}, {parent.Method, child.Method}, {parent.Authority, child.Authority},
	} {
		if stringMatchConflict(pair[0], pair[1]) {
			return true
		}
	}
	for _, field := range [][2]map[string]*networking.StringMatch{
		{parent.Headers, child.Headers}, {parent.WithoutHeaders, child.WithoutHeaders}, {parent.QueryParams, child.QueryParams},
	} {
		for k, c := range field[1] {
			if stringMatchConflict(field[0][k], c) {
				return true
			}
		}
	}
	switch {
	case parent.IgnoreURICase != child.IgnoreURICase,
		parent.Port > 0 && child.Port > 0 && parent.Port != child.Port,
		parent.SourceNamespace != "" && child.SourceNamespace != parent.SourceNamespace:
		return true
	}
	for k, v := range child.SourceLabels {
		if pv, ok := parent.SourceLabels[k]; ok && pv != v {
			return true
		}
	}
	if len(parent.Gateways) > 0 && len(child.Gateways) > 0 {
		for _, g := range child.Gateways {
			if !slices.Contains(parent.Gateways, g) {
				return true
			}
		}
	}
	return false
}

// stringMatchConflict: a child condition must be a subset of the parent's (an exact value equal to the
// parent's, a prefix or exact value under the parent's prefix); regexes cannot be compared, so a
// regex on either side conflicts with any condition on the other.
func stringMatchConflict(parent, child *networking.StringMatch) bool {
	if parent == nil || child == nil {
		return false
	}
	pExact, pPrefix, pRegex := matchParts(parent)
	cExact, cPrefix, cRegex := matchParts(child)
	switch {
	case pRegex != "" && (cRegex != "" || cPrefix != "" || cExact != ""):
		return true
	case cRegex != "" && (pRegex != "" || pPrefix != "" || pExact != ""):
		return true
	case pExact != "":
		return cPrefix != "" || cExact != pExact
	case pPrefix != "" && cPrefix != "":
		return !strings.HasPrefix(cPrefix, pPrefix)
	case pPrefix != "" && cExact != "":
		return !strings.HasPrefix(cExact, pPrefix)
	}
	return true
}

// matchParts reads a StringMatch as Istio's generated getters do: an unset or empty value is "".
func matchParts(m *networking.StringMatch) (exact, prefix, regex string) {
	get := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return get(m.Exact), get(m.Prefix), get(m.Regex)
}
