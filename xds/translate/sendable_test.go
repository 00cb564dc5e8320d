package translate_test

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/minipilot/minipilot/xds/translate"
)

// unsendable lists what would make a client refuse a response holding r, checked independently of
// how the translator avoids it:
//   - a resource failing the proto's validation rules, the messages packed in Any fields included;
//   - two resources of one type with one name;
//   - in a route config, two virtual hosts of one name, or one domain (as Envoy compares them:
//     case-insensitively, wildcards among their kind) in two virtual hosts or twice in one;
//   - in a listener, two filter chains of one name, or two that would match one connection; a
//     server name with a wildcard other than a leading "*."; an address that is not an IP;
//   - an EDS or STATIC endpoint whose address is not an IP; endpoints of one locality, or
//     localities of one priority, weighing more than a uint32 together; priorities with a gap;
//   - a LOGICAL_DNS cluster without exactly one host; an EDS cluster without its endpoints and
//     without a warning that says why.
func unsendable(r *translate.Resources) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, m := range allMessages(r) {
		if err := deepValidate(m); err != nil {
			add("%s %s fails validation: %v", m.ProtoReflect().Descriptor().Name(), nameOf(m), err)
		}
	}
	for _, list := range [][]proto.Message{msgs(r.Clusters), msgs(r.Endpoints), msgs(r.Listeners), msgs(r.Routes)} {
		seen := map[string]bool{}
		for _, m := range list {
			if seen[nameOf(m)] {
				add("two %s named %q", m.ProtoReflect().Descriptor().Name(), nameOf(m))
			}
			seen[nameOf(m)] = true
		}
	}
	for _, rc := range r.Routes {
		vhNames, domains := map[string]bool{}, map[string]string{}
		for _, vh := range rc.VirtualHosts {
			if vhNames[vh.Name] {
				add("route %s: two virtual hosts named %q", rc.Name, vh.Name)
			}
			vhNames[vh.Name] = true
			for _, d := range vh.Domains {
				key := envoyDomain(d)
				if other, dup := domains[key]; dup {
					add("route %s: domain %q is in virtual hosts %q and %q", rc.Name, d, other, vh.Name)
				}
				domains[key] = vh.Name
			}
		}
	}
	for _, l := range r.Listeners {
		out = append(out, listenerProblems(l)...)
	}
	assignments := map[string]*endpointv3.ClusterLoadAssignment{}
	for _, cla := range r.Endpoints {
		assignments[cla.ClusterName] = cla
		out = append(out, endpointProblems("endpoints "+cla.ClusterName, cla, true)...)
	}
	for _, c := range r.Clusters {
		if c.LoadAssignment != nil {
			out = append(out, endpointProblems("cluster "+c.Name, c.LoadAssignment, c.GetType() == clusterv3.Cluster_STATIC)...)
		}
		switch c.GetType() {
		case clusterv3.Cluster_EDS:
			name := c.GetEdsClusterConfig().GetServiceName()
			if name == "" {
				name = c.Name
			}
			if assignments[name] == nil && !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, name) }) {
				add("EDS cluster %s has no endpoints and no warning says why", c.Name)
			}
		case clusterv3.Cluster_LOGICAL_DNS:
			if n := hosts(c.LoadAssignment); n != 1 {
				add("LOGICAL_DNS cluster %s has %d hosts", c.Name, n)
			}
		}
	}
	return out
}

func allMessages(r *translate.Resources) []proto.Message {
	var all []proto.Message
	for _, l := range [][]proto.Message{msgs(r.Clusters), msgs(r.Endpoints), msgs(r.Listeners), msgs(r.Routes)} {
		all = append(all, l...)
	}
	return all
}

func nameOf(m proto.Message) string {
	if cla, ok := m.(*endpointv3.ClusterLoadAssignment); ok {
		return cla.ClusterName
	}
	return m.(interface{ GetName() string }).GetName()
}

// deepValidate is ValidateAll on m and on every message packed in an Any below it.
func deepValidate(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	var err error
	var walk func(protoreflect.Message)
	walk = func(pm protoreflect.Message) {
		if a, ok := pm.Interface().(*anypb.Any); ok {
			inner, uerr := a.UnmarshalNew()
			if uerr == nil {
				uerr = deepValidate(inner)
			}
			if uerr != nil && err == nil {
				err = fmt.Errorf("%s: %w", a.TypeUrl, uerr)
			}
			return
		}
		pm.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { walk(mv.Message()); return true })
				}
			case fd.Message() == nil:
			case fd.IsList():
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			default:
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
	return err
}

// envoyDomain is how Envoy's route matcher files a domain: lower case, "*", "*suffix", "prefix*".
func envoyDomain(d string) string {
	d = strings.ToLower(d)
	switch {
	case d == "*":
		return "any"
	case strings.HasPrefix(d, "*"):
		return "suffix:" + strings.TrimPrefix(d, "*")
	case strings.HasSuffix(d, "*"):
		return "prefix:" + strings.TrimSuffix(d, "*")
	}
	return "exact:" + d
}

func listenerProblems(l *listenerv3.Listener) []string {
	var out []string
	if sa := l.GetAddress().GetSocketAddress(); sa != nil {
		if _, err := netip.ParseAddr(sa.GetAddress()); err != nil {
			out = append(out, fmt.Sprintf("listener %s: address %q is not an IP", l.Name, sa.GetAddress()))
		}
	}
	if l.ApiListener == nil && len(l.FilterChains) == 0 {
		out = append(out, fmt.Sprintf("listener %s has no filter chain", l.Name))
	}
	chainNames := map[string]bool{}
	for i, a := range l.FilterChains {
		if a.Name != "" && chainNames[a.Name] {
			out = append(out, fmt.Sprintf("listener %s: two filter chains named %q", l.Name, a.Name))
		}
		chainNames[a.Name] = true
		for _, n := range a.GetFilterChainMatch().GetServerNames() {
			if strings.Contains(n, "*") && !strings.HasPrefix(n, "*.") {
				out = append(out, fmt.Sprintf("listener %s: server name %q has a partial wildcard", l.Name, n))
			}
		}
		for j, b := range l.FilterChains[:i] {
			if chainsOverlap(a.GetFilterChainMatch(), b.GetFilterChainMatch()) {
				out = append(out, fmt.Sprintf("listener %s: filter chains %d and %d match the same connections", l.Name, j, i))
			}
		}
	}
	return out
}

// chainsOverlap says whether a connection can match both: every condition Envoy files chains by
// has a value in common (an empty list being the value "any", distinct from every listed one).
func chainsOverlap(a, b *listenerv3.FilterChainMatch) bool {
	if a.GetDestinationPort().GetValue() != b.GetDestinationPort().GetValue() || a.GetTransportProtocol() != b.GetTransportProtocol() ||
		a.GetSourceType() != b.GetSourceType() {
		return false
	}
	names := func(m *listenerv3.FilterChainMatch) []string {
		var out []string
		for _, n := range m.GetServerNames() {
			out = append(out, strings.TrimPrefix(n, "*"))
		}
		return orAny(out)
	}
	ranges := func(m *listenerv3.FilterChainMatch) []string {
		var out []string
		for _, r := range m.GetPrefixRanges() {
			addr, err := netip.ParseAddr(r.GetAddressPrefix())
			if err != nil {
				out = append(out, r.GetAddressPrefix())
				continue
			}
			bits := int(r.GetPrefixLen().GetValue())
			if r.PrefixLen == nil {
				bits = addr.BitLen()
			}
			p, _ := addr.Prefix(min(bits, addr.BitLen()))
			out = append(out, p.String())
		}
		return orAny(out)
	}
	return intersect(names(a), names(b)) && intersect(ranges(a), ranges(b)) &&
		intersect(orAny(a.GetApplicationProtocols()), orAny(b.GetApplicationProtocols()))
}

func orAny(s []string) []string {
	if len(s) == 0 {
		return []string{"(any)"}
	}
	return s
}

func intersect(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}

// endpointProblems: addresses that must be IPs, weights that do not fit a uint32 in sum (per
// locality, and per priority), priorities with a gap (gRPC refuses them).
func endpointProblems(what string, cla *endpointv3.ClusterLoadAssignment, needIP bool) []string {
	var out []string
	byPriority := map[uint32]uint64{}
	for _, lle := range cla.GetEndpoints() {
		sum := uint64(0)
		for _, e := range lle.GetLbEndpoints() {
			a := e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
			if _, err := netip.ParseAddr(a); needIP && err != nil {
				out = append(out, fmt.Sprintf("%s: endpoint address %q is not an IP", what, a))
			}
			sum += uint64(max(e.GetLoadBalancingWeight().GetValue(), 1))
		}
		if sum > math.MaxUint32 {
			out = append(out, fmt.Sprintf("%s: the endpoints of locality %v weigh %d together", what, lle.GetLocality(), sum))
		}
		byPriority[lle.GetPriority()] += uint64(lle.GetLoadBalancingWeight().GetValue())
	}
	for p, sum := range byPriority {
		if sum > math.MaxUint32 {
			out = append(out, fmt.Sprintf("%s: the localities of priority %d weigh %d together", what, p, sum))
		}
	}
	for p := range uint32(len(byPriority)) {
		if _, ok := byPriority[p]; !ok {
			out = append(out, fmt.Sprintf("%s: priorities %v have a gap at %d", what, slices.Sorted(maps.Keys(byPriority)), p))
			break
		}
	}
	return out
}

func hosts(cla *endpointv3.ClusterLoadAssignment) int {
	n := 0
	for _, lle := range cla.GetEndpoints() {
		n += len(lle.GetLbEndpoints())
	}
	return n
}
