package model

import (
	"maps"
	"reflect"
	"slices"
)

// Change is what differs between two snapshots, as far as translation cares: whether anything but
// endpoints changed (services, routing rules, gateways: a full push), and which services' endpoints
// changed. An endpoint-only change is the common event of a living mesh (pods rolling, scaling,
// failing readiness) and is pushed on its own fast path: only the endpoint sets of those services.
type Change struct {
	// Config is true when anything other than endpoints changed.
	Config bool
	// RoutingOnly is true when the config that changed is VirtualServices alone (services,
	// DestinationRules and Gateways are as they were): clusters need no translating again.
	RoutingOnly bool
	// Endpoints holds the hostnames whose endpoints changed (in either case).
	Endpoints map[string]bool
	// Addresses holds the endpoint addresses added, removed or changed: the proxies at those
	// addresses have a changed inbound side.
	Addresses map[string]bool
}

// EndpointsOnly says whether only endpoints changed.
func (c Change) EndpointsOnly() bool { return !c.Config && len(c.Endpoints) > 0 }

// Empty says whether nothing changed.
func (c Change) Empty() bool { return !c.Config && len(c.Endpoints) == 0 }

// Diff compares two snapshots. prev may be nil (everything changed). It is linear in the mesh and
// allocates only for what changed; unchanged objects are usually the same pointers, and otherwise
// compared field by field.
func Diff(prev, next *Snapshot) Change {
	c := Change{Endpoints: map[string]bool{}, Addresses: map[string]bool{}}
	if prev == nil {
		c.Config = true
		for host, ports := range next.endpoints {
			c.Endpoints[host] = true
			for _, eps := range ports {
				for _, ep := range eps {
					c.Addresses[ep.Address] = true
				}
			}
		}
		return c
	}
	others := !equalServices(prev.byHost, next.byHost) ||
		!equalRules(prev.DestinationRules, next.DestinationRules) ||
		!equalRules(prev.Gateways, next.Gateways) ||
		!equalRules(prev.Sidecars, next.Sidecars) ||
		!prev.mesh.Equal(next.mesh)
	// A Sidecar's scope imports the destinations of VirtualServices, so clusters then read them.
	routing := !equalRules(prev.VirtualServices, next.VirtualServices)
	c.Config, c.RoutingOnly = others || routing, routing && !others && len(next.Sidecars) == 0
	for host, ports := range next.endpoints {
		if c.diffEndpoints(prev.endpoints[host], ports) {
			c.Endpoints[host] = true
		}
	}
	for host, ports := range prev.endpoints {
		if _, ok := next.endpoints[host]; !ok && c.diffEndpoints(ports, nil) {
			c.Endpoints[host] = true
		}
	}
	return c
}

// diffEndpoints compares a service's endpoints by port, recording the addresses that differ.
func (c *Change) diffEndpoints(prev, next map[string][]*Endpoint) bool {
	changed := false
	for port, eps := range next {
		if c.diffPort(prev[port], eps) {
			changed = true
		}
	}
	for port, eps := range prev {
		if _, ok := next[port]; !ok && c.diffPort(eps, nil) {
			changed = true
		}
	}
	return changed
}

// diffPort compares two sorted endpoint lists (see compareEndpoints).
func (c *Change) diffPort(prev, next []*Endpoint) bool {
	if len(prev) == len(next) {
		same := true
		for i := range prev {
			if !prev[i].Equal(next[i]) {
				same = false
				break
			}
		}
		if same {
			return false
		}
	}
	byAddr := make(map[string][]*Endpoint, len(prev))
	for _, ep := range prev {
		byAddr[ep.Address] = append(byAddr[ep.Address], ep)
	}
	for _, ep := range next {
		old := byAddr[ep.Address]
		if i := slices.IndexFunc(old, ep.Equal); i >= 0 {
			byAddr[ep.Address] = slices.Delete(old, i, i+1)
			continue
		}
		c.Addresses[ep.Address] = true
	}
	for addr, rest := range byAddr {
		if len(rest) > 0 {
			c.Addresses[addr] = true
		}
	}
	return true
}

func equalServices(a, b map[string]*Service) bool {
	if len(a) != len(b) {
		return false
	}
	for host, svc := range a {
		if !svc.Equal(b[host]) {
			return false
		}
	}
	return true
}

// equalRules compares rule lists: the same objects (the usual case: another source changed), or
// equal ones (a file adapter reload decodes every rule again).
func equalRules[T any](a, b []*T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Equal compares every field; nil equals only nil.
func (e *Endpoint) Equal(o *Endpoint) bool {
	if e == o {
		return true
	}
	if e == nil || o == nil {
		return false
	}
	return e.Service == o.Service && e.ServicePort == o.ServicePort && e.Address == o.Address && e.Port == o.Port &&
		e.Ready == o.Ready && e.Locality == o.Locality && e.Weight == o.Weight && e.Workload == o.Workload &&
		e.Cluster == o.Cluster && maps.Equal(e.Labels, o.Labels)
}

// Equal compares every field; nil equals only nil.
func (s *Service) Equal(o *Service) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	return s.Hostname == o.Hostname && s.Name == o.Name && s.Namespace == o.Namespace && s.Address == o.Address &&
		slices.Equal(s.Addresses, o.Addresses) && slices.Equal(s.SubjectAltNames, o.SubjectAltNames) &&
		s.ExternalName == o.ExternalName && s.Resolution == o.Resolution && slices.Equal(s.Ports, o.Ports) &&
		maps.Equal(s.Labels, o.Labels) && s.MeshExternal == o.MeshExternal && slices.Equal(s.ExportTo, o.ExportTo) &&
		slices.Equal(s.Clusters, o.Clusters)
}
