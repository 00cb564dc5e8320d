package translate

import (
	"cmp"
	"maps"
	"slices"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// Sidecar scoping, as Istio's SidecarScope: a sidecar (or proxyless client) sees the services its
// Sidecar's egress listeners import ("namespace/host"), each listener with a port only on that
// port, plus the destinations of the VirtualServices those hosts import; without a Sidecar it sees
// every service exported to its namespace. Routers (gateways) are not scoped, as in Istio.

// scope is a proxy's Sidecar scope, resolved against the snapshot.
type scope struct {
	*model.SidecarScope
	// byPort holds the services of each egress listener that has a port; catchAll those of the
	// listener without one (nil when there is none, so only the named ports have listeners).
	byPort   map[uint32][]*model.Service
	catchAll []*model.Service
	// portHosts and catchAllHosts are the same as sets of hostnames.
	portHosts     map[uint32]map[string]bool
	catchAllHosts map[string]bool
}

// scoped applies the proxy's Sidecar scope to the services visible to it, and returns them (with
// ports trimmed to what is imported) sorted by hostname.
func (b *builder) scoped(visible []*model.Service) []*model.Service {
	if b.proxy.Type != model.Sidecar {
		return visible
	}
	sc := b.snap.SidecarFor(b.proxy.Namespace, b.proxy.Labels)
	b.scope = &scope{SidecarScope: b.snap.Scope(sc, b.proxy.Namespace)}
	if sc == nil {
		b.scope.catchAll = visible
		return visible
	}
	merged := map[string]*model.Service{}
	add := func(svc *model.Service) {
		have, ok := merged[svc.Hostname]
		if !ok {
			merged[svc.Hostname] = svc
			return
		}
		if have == svc {
			return
		}
		union := *have
		union.Ports = slices.Clone(have.Ports)
		for _, p := range svc.Ports {
			if _, dup := union.PortByNumber(p.Port); !dup {
				union.Ports = append(union.Ports, p)
			}
		}
		slices.SortStableFunc(union.Ports, func(a, b model.Port) int { return cmp.Compare(a.Port, b.Port) })
		merged[svc.Hostname] = &union
	}
	byHost := make(map[string]*model.Service, len(visible))
	for _, svc := range visible {
		byHost[svc.Hostname] = svc
	}
	b.scope.byPort = map[uint32][]*model.Service{}
	for i := range b.scope.Egress {
		e := &b.scope.Egress[i]
		var imported []*model.Service
		for _, svc := range visible {
			if e.Imports(svc) {
				if svc = onPort(svc, e.Port); svc != nil {
					imported = append(imported, svc)
				}
			}
		}
		imported = b.addDestinations(e, byHost, imported)
		for _, svc := range imported {
			add(svc)
		}
		if e.Port == 0 {
			b.scope.catchAll = append(b.scope.catchAll, imported...)
		} else {
			b.scope.byPort[e.Port] = imported
		}
	}
	b.scope.portHosts = map[uint32]map[string]bool{}
	for port, svcs := range b.scope.byPort {
		b.scope.portHosts[port] = hostSet(svcs)
	}
	b.scope.catchAllHosts = hostSet(b.scope.catchAll)
	out := make([]*model.Service, 0, len(merged))
	for _, svc := range merged {
		out = append(out, svc)
	}
	slices.SortFunc(out, func(a, b *model.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	return out
}

// onPort is svc with only the port numbered port (0: svc as it is); nil if it has no such port.
func onPort(svc *model.Service, port uint32) *model.Service {
	if svc == nil || port == 0 {
		return svc
	}
	p, ok := svc.PortByNumber(port)
	switch {
	case !ok:
		return nil
	case len(svc.Ports) == 1:
		return svc
	}
	trimmed := *svc
	trimmed.Ports = []model.Port{p}
	return &trimmed
}

// addDestinations adds, to what an egress listener imports, the destinations of the VirtualServices
// whose hosts it imports (Istio's collectImportedServices): a service named by hosts wins over one
// found this way. Destinations are limited to the ports the rules send to, and to the listener's.
func (b *builder) addDestinations(e *model.EgressScope, byHost map[string]*model.Service, imported []*model.Service) []*model.Service {
	have := map[string]bool{}
	for _, svc := range imported {
		have[svc.Hostname] = true
	}
	for _, vs := range b.snap.VirtualServices {
		if !b.snap.ExportedTo(model.KindVirtualService, vs.Spec.ExportTo, vs.Namespace, b.proxy.Namespace) ||
			!slices.ContainsFunc(vs.Spec.Hosts, func(h string) bool { return e.ImportsHost(b.snap.ResolveHost(h, vs.Namespace), vs.Namespace) }) {
			continue
		}
		dests := destinationPorts(vs, b.snap.ResolveHost)
		for _, host := range slices.Sorted(maps.Keys(dests)) { // in order: they become virtual hosts
			ports := dests[host]
			svc := byHost[host]
			if svc == nil || have[host] {
				continue
			}
			if svc = onPort(onPorts(svc, ports), e.Port); svc != nil {
				have[host] = true
				imported = append(imported, svc)
			}
		}
	}
	return imported
}

// onPorts is svc with only the ports a rule sends to (all of them when a destination names none).
func onPorts(svc *model.Service, ports map[uint32]bool) *model.Service {
	if ports[0] || len(ports) == 0 {
		return svc
	}
	trimmed := *svc
	trimmed.Ports = nil
	for _, p := range svc.Ports {
		if ports[p.Port] {
			trimmed.Ports = append(trimmed.Ports, p)
		}
	}
	if len(trimmed.Ports) == 0 {
		return nil
	}
	return &trimmed
}

// destinationPorts lists the hosts a VirtualService sends to (routes and mirrors), each with the
// port numbers it names (0 for a destination without a port).
func destinationPorts(vs *model.VirtualService, resolve func(host, ns string) string) map[string]map[uint32]bool {
	out := map[string]map[uint32]bool{}
	add := func(d *networking.Destination) {
		if d == nil || d.Host == "" {
			return
		}
		host := resolve(d.Host, vs.Namespace)
		if out[host] == nil {
			out[host] = map[uint32]bool{}
		}
		var port uint32
		if d.Port != nil {
			port = d.Port.Number
		}
		out[host][port] = true
	}
	for _, h := range vs.Spec.HTTP {
		for _, r := range h.Route {
			add(r.Destination)
		}
		add(h.Mirror)
		for _, m := range h.Mirrors {
			add(m.Destination)
		}
	}
	for _, t := range vs.Spec.TCP {
		for _, r := range t.Route {
			add(r.Destination)
		}
	}
	for _, t := range vs.Spec.TLS {
		for _, r := range t.Route {
			add(r.Destination)
		}
	}
	return out
}

// listenerServices are the services a listener (and route config) on a port serves: those of the
// egress listener for that port, else those of the catch-all one.
func (b *builder) listenerServices(port uint32) []*model.Service {
	if b.scope == nil {
		return b.services
	}
	if svcs, ok := b.scope.byPort[port]; ok {
		return svcs
	}
	return b.scope.catchAll
}

// listens says whether the listener on a port serves the service (see listenerServices).
func (b *builder) listens(svc *model.Service, port uint32) bool {
	if b.scope == nil || b.scope.Default() {
		return true
	}
	if hosts, ok := b.scope.portHosts[port]; ok {
		return hosts[svc.Hostname]
	}
	return b.scope.catchAllHosts[svc.Hostname]
}

func hostSet(svcs []*model.Service) map[string]bool {
	out := make(map[string]bool, len(svcs))
	for _, svc := range svcs {
		out[svc.Hostname] = true
	}
	return out
}

// outboundPolicy is the proxy's outbound traffic policy mode: its Sidecar's, else the mesh's.
func (b *builder) outboundPolicy() string {
	if b.scope != nil {
		return b.scope.OutboundTrafficPolicy
	}
	return b.snap.Mesh().OutboundTrafficPolicy
}

// warnShadowedSidecars says, as Istio does, that a namespace's selector-less Sidecars beyond the
// oldest are ignored (once per translation: Outbound says it).
func (b *builder) warnShadowedSidecars() {
	if b.scope == nil {
		return
	}
	first, shadowed := b.snap.ShadowedSidecars(b.proxy.Namespace)
	for _, sc := range shadowed {
		b.warnOnce(sc.Meta, ResourceRef{}, "Sidecar %s/%s is ignored: %s/%s, older, already applies to every workload of namespace %s without a workloadSelector match",
			sc.Namespace, sc.Name, first.Namespace, first.Name, sc.Namespace)
	}
}

// scopedService is the service of that hostname as the proxy sees it (in its scope, with the ports
// it imports); nil if it sees none.
func (b *builder) scopedService(hostname string) *model.Service {
	i, ok := slices.BinarySearchFunc(b.services, hostname, func(svc *model.Service, h string) int { return cmp.Compare(svc.Hostname, h) })
	if !ok {
		return nil
	}
	return b.services[i]
}
