package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
)

// What Envoy refuses a whole response or resource for, beyond the proto's own rules, when names
// collide: two resources of one type with one name (the response is refused), a domain in two
// virtual hosts of one route config ("Only unique values for domains are permitted"), two filter
// chains of a listener that match a connection alike ("multiple filter chains with overlapping
// matching rules"). The translator avoids them by construction; these passes make sure of it,
// whatever the snapshot holds. The first of two, in the order resources are built (the snapshot's:
// services by hostname, ports as declared, rules oldest first), wins; the other is left out with a
// warning naming what it came from.

// uniqueNames keeps the first resource of each name, the lists being sorted stably by name. p says
// what a cluster came from; nil when not known (ForProxy's merge of two translations).
func (r *Resources) uniqueNames(p *provenance) {
	object := func(cluster string) model.Meta {
		if p == nil {
			return model.Meta{}
		}
		return p.clusterObject(cluster)
	}
	r.Clusters = uniqueByName(r, r.Clusters, ClusterResource, func(n string) model.Meta { return object(n) })
	r.Endpoints = uniqueByName(r, r.Endpoints, EndpointsResource, func(n string) model.Meta {
		if p == nil {
			return model.Meta{}
		}
		return serviceObject(p.clusters[n].svc)
	})
	r.Listeners = uniqueByName(r, r.Listeners, ListenerResource, func(string) model.Meta { return model.Meta{} })
	r.Routes = uniqueByName(r, r.Routes, RouteResource, func(string) model.Meta { return model.Meta{} })
}

func uniqueByName[T proto.Message](r *Resources, in []T, typ ResourceType, object func(name string) model.Meta) []T {
	if len(in) < 2 {
		return in
	}
	out := in[:1]
	for _, res := range in[1:] {
		name := resourceName(res)
		if name == resourceName(out[len(out)-1]) {
			r.warn(object(name), ResourceRef{Type: typ, Name: name},
				"%s %s is built twice (two ports, subsets or hosts make one name); the first is kept, the other left out", typ, name)
			continue
		}
		out = append(out, res)
	}
	return out
}

// resourceName is the name a resource is known by: the cluster name of a ClusterLoadAssignment.
func resourceName(m proto.Message) string {
	type clusterNamed interface{ GetClusterName() string }
	if c, ok := m.(clusterNamed); ok {
		return c.GetClusterName()
	}
	return m.(interface{ GetName() string }).GetName()
}

// uniqueWithin resolves what collides inside one resource: the virtual hosts of a route config and
// the filter chains of a listener.
func (b *builder) uniqueWithin(r *Resources) {
	for _, rc := range r.Routes {
		// A route config with kept virtual hosts had no name or domain twice when they were kept
		// (it would have warned, and nothing of it been kept), and its services are the same.
		if !b.standInRoutes[rc.Name] {
			b.uniqueVirtualHosts(r, rc)
		}
	}
	kept := r.Listeners[:0]
	for _, l := range r.Listeners {
		if l.ApiListener == nil && !b.uniqueChains(r, l) {
			continue
		}
		kept = append(kept, l)
	}
	r.Listeners = kept
}

// domainKey is how Envoy tells domains apart: case-insensitively, exact names, "*suffix"
// wildcards, "prefix*" wildcards and "*" each among their kind.
type domainKey struct {
	kind byte // '=' exact, '<' suffix wildcard, '>' prefix wildcard, '*' any
	name string
}

func keyOfDomain(domain string) domainKey {
	d := strings.ToLower(domain)
	switch {
	case d == "*":
		return domainKey{'*', ""}
	case strings.HasPrefix(d, "*"):
		return domainKey{'<', d[1:]}
	case strings.HasSuffix(d, "*"):
		return domainKey{'>', d[:len(d)-1]}
	}
	return domainKey{'=', d}
}

// uniqueVirtualHosts keeps the first virtual host of each name, and each domain in the first virtual
// host that has it; a virtual host left without domains is left out.
func (b *builder) uniqueVirtualHosts(r *Resources, rc *routev3.RouteConfiguration) {
	names := map[string]bool{}
	owner := map[domainKey]string{} // → the virtual host that has it
	kept := rc.VirtualHosts[:0]
	for _, vh := range rc.VirtualHosts {
		obj := b.provenance.vhosts[vh]
		if names[vh.Name] {
			r.warn(obj, routeRef(rc.Name), "route %s: virtual host %s is built twice; the first is kept, the other left out", rc.Name, vh.Name)
			continue
		}
		var domains, lost, refused []string
		var lostTo string
		for _, d := range vh.Domains {
			if strings.ContainsAny(d, "\x00\n\r") {
				refused = append(refused, strconv.Quote(d))
				continue
			}
			key := keyOfDomain(d)
			switch have, taken := owner[key]; {
			case !taken:
				owner[key] = vh.Name
				domains = append(domains, d)
			case have != vh.Name:
				lost, lostTo = append(lost, d), have
			}
			// A domain repeated within the virtual host is dropped silently: it changes nothing.
		}
		if len(refused) > 0 {
			r.warn(obj, routeRef(rc.Name), "route %s: virtual host %s: domains %s are not valid in a Host header; left out of it",
				rc.Name, vh.Name, strings.Join(refused, ", "))
		}
		if len(lost) > 0 {
			r.warn(obj, routeRef(rc.Name), "route %s: virtual host %s: domains %s are already those of virtual host %s; left out of it",
				rc.Name, vh.Name, strings.Join(lost, ", "), lostTo)
		}
		if len(domains) == 0 {
			r.warn(obj, routeRef(rc.Name), "route %s: virtual host %s has no domain of its own left; left out", rc.Name, vh.Name)
			continue
		}
		vh.Domains = domains
		names[vh.Name] = true
		kept = append(kept, vh)
	}
	rc.VirtualHosts = kept
}

// A leaf is one combination of the conditions a filter chain matches on: Envoy files each chain
// under every combination of its listed values (an empty list is a value of its own, "any"), and
// refuses the listener when two chains share one.
type leaf struct {
	rest, serverName, prefix string
}

// chainMatch is a filter chain's match as Envoy files it.
type chainMatch struct {
	rest        string   // every condition but server names and destination ranges, as one key
	serverNames []string // Envoy's keys: "*.example.com" is ".example.com"; {""} for none
	prefixes    []string // masked CIDRs; {""} for none
}

func (m chainMatch) leaves() []leaf {
	out := make([]leaf, 0, len(m.serverNames)*len(m.prefixes))
	for _, n := range m.serverNames {
		for _, p := range m.prefixes {
			out = append(out, leaf{m.rest, n, p})
		}
	}
	return out
}

// uniqueChains makes every connection match at most one filter chain of the listener, the first
// that claims it, and chain names unique; it says whether the listener has a chain left.
func (b *builder) uniqueChains(r *Resources, l *listenerv3.Listener) bool {
	taken := map[leaf]*listenerv3.FilterChain{}
	names := map[string]bool{}
	kept := l.FilterChains[:0]
	for _, c := range l.FilterChains {
		obj := b.provenance.chains[c]
		if c.Name != "" && names[c.Name] {
			r.warn(obj, listenerRef(l.Name), "listener %s: filter chain %s is built twice; the first is kept, the other left out", l.Name, c.Name)
			continue
		}
		if !b.normalizeChainMatch(r, l, c) {
			continue
		}
		m := matchOf(c.FilterChainMatch)
		var overlap []leaf
		for _, lf := range m.leaves() {
			if taken[lf] != nil {
				overlap = append(overlap, lf)
			}
		}
		if len(overlap) > 0 {
			if !narrowChain(c, m, overlap) {
				r.warn(obj, listenerRef(l.Name), "listener %s: a filter chain%s matches the same connections as an earlier one%s; left out",
					l.Name, describeMatch(c.FilterChainMatch), describeMatch(taken[overlap[0]].FilterChainMatch))
				continue
			}
			r.warn(obj, listenerRef(l.Name), "listener %s: an earlier filter chain%s already takes %s; a later one keeps only%s",
				l.Name, describeMatch(taken[overlap[0]].FilterChainMatch), describeLeaves(overlap), describeMatch(c.FilterChainMatch))
			m = matchOf(c.FilterChainMatch)
		}
		for _, lf := range m.leaves() {
			taken[lf] = c
		}
		if c.Name != "" {
			names[c.Name] = true
		}
		kept = append(kept, c)
	}
	l.FilterChains = kept
	if len(kept) == 0 {
		r.warn(model.Meta{}, listenerRef(l.Name), "listener %s has no filter chain left; left out", l.Name)
		return false
	}
	return true
}

// normalizeChainMatch removes repeated server names and destination ranges (Envoy would take the
// second for a chain of its own) and server names Envoy refuses ("partial wildcards are not
// supported": only "*.suffix" is a wildcard). It says whether the chain still matches something:
// one whose every server name was refused is left out, not widened to every name.
func (b *builder) normalizeChainMatch(r *Resources, l *listenerv3.Listener, c *listenerv3.FilterChain) bool {
	m := c.FilterChainMatch
	if m == nil {
		return true
	}
	obj := b.provenance.chains[c]
	if len(m.ServerNames) > 0 {
		var names, refused []string
		for _, n := range m.ServerNames {
			switch {
			case strings.Contains(n, "*") && !strings.HasPrefix(n, "*."):
				refused = append(refused, n)
			case !slices.Contains(names, n):
				names = append(names, n)
			}
		}
		if len(refused) > 0 {
			r.warn(obj, listenerRef(l.Name), "listener %s: server names %s have a wildcard Envoy does not support (only a leading \"*.\"); left out",
				l.Name, strings.Join(refused, ", "))
		}
		if len(names) == 0 {
			r.warn(obj, listenerRef(l.Name), "listener %s: a filter chain has no server name left; left out", l.Name)
			return false
		}
		m.ServerNames = names
	}
	if len(m.PrefixRanges) > 1 {
		seen := map[string]bool{}
		ranges := m.PrefixRanges[:0]
		for _, pr := range m.PrefixRanges {
			if key := rangeKey(pr); !seen[key] {
				seen[key] = true
				ranges = append(ranges, pr)
			}
		}
		m.PrefixRanges = ranges
	}
	return true
}

func matchOf(m *listenerv3.FilterChainMatch) chainMatch {
	out := chainMatch{serverNames: []string{""}, prefixes: []string{""}}
	if m == nil {
		return out
	}
	rest := proto.Clone(m).(*listenerv3.FilterChainMatch)
	rest.ServerNames, rest.PrefixRanges = nil, nil
	key, _ := proto.MarshalOptions{Deterministic: true}.Marshal(rest)
	out.rest = string(key)
	if len(m.ServerNames) > 0 {
		out.serverNames = make([]string, len(m.ServerNames))
		for i, n := range m.ServerNames {
			out.serverNames[i] = strings.TrimPrefix(n, "*")
		}
	}
	if len(m.PrefixRanges) > 0 {
		out.prefixes = make([]string, len(m.PrefixRanges))
		for i, pr := range m.PrefixRanges {
			out.prefixes[i] = rangeKey(pr)
		}
	}
	return out
}

// rangeKey is a CIDR as Envoy keys it: the address masked to the prefix length.
func rangeKey(pr *corev3.CidrRange) string {
	addr, err := netip.ParseAddr(pr.GetAddressPrefix())
	if err != nil {
		return pr.GetAddressPrefix() + "/" + fmt.Sprint(pr.GetPrefixLen().GetValue())
	}
	bits := int(pr.GetPrefixLen().GetValue())
	if pr.PrefixLen == nil || bits > addr.BitLen() {
		bits = addr.BitLen()
	}
	prefix, err := addr.Prefix(bits)
	if err != nil {
		return pr.GetAddressPrefix()
	}
	return prefix.String()
}

// narrowChain takes from a chain the server names, or else the destination ranges, that other
// chains already match, whichever keeps more of what it matches; it says whether the chain still
// matches anything. A chain matching any name (or any destination) cannot be narrowed on it.
func narrowChain(c *listenerv3.FilterChain, m chainMatch, overlap []leaf) bool {
	m2 := c.FilterChainMatch
	if m2 == nil {
		return false
	}
	lostNames, lostPrefixes := map[string]bool{}, map[string]bool{}
	for _, lf := range overlap {
		lostNames[lf.serverName], lostPrefixes[lf.prefix] = true, true
	}
	var names []string
	for i, n := range m2.ServerNames {
		if !lostNames[m.serverNames[i]] {
			names = append(names, n)
		}
	}
	var ranges []*corev3.CidrRange
	for i, pr := range m2.PrefixRanges {
		if !lostPrefixes[m.prefixes[i]] {
			ranges = append(ranges, pr)
		}
	}
	keepByName := len(names) * len(m.prefixes)
	keepByRange := len(ranges) * len(m.serverNames)
	if len(m2.ServerNames) == 0 {
		keepByName = 0
	}
	if len(m2.PrefixRanges) == 0 {
		keepByRange = 0
	}
	switch {
	case keepByName == 0 && keepByRange == 0:
		return false
	case keepByName >= keepByRange:
		m2.ServerNames = names
	default:
		m2.PrefixRanges = ranges
	}
	return true
}

func describeLeaves(ls []leaf) string {
	var parts []string
	for _, lf := range ls {
		var p []string
		if lf.serverName != "" {
			p = append(p, "SNI "+lf.serverName)
		}
		if lf.prefix != "" {
			p = append(p, "destination "+lf.prefix)
		}
		if len(p) == 0 {
			p = append(p, "every connection")
		}
		parts = append(parts, strings.Join(p, " "))
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), ", ")
}
