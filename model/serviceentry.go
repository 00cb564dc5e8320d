package model

import (
	"net/netip"
)

// ServiceEntryServices converts a ServiceEntry into the services (one per host) and the endpoints it
// lists inline, so that it is routed and shaped like any other service. The endpoints of a
// workloadSelector are added by the snapshot once every platform endpoint is known (see
// workloadEndpoints).
//
// Resolution maps as in Istio: NONE (the default) forwards to the address the client dialled
// (Passthrough, an ORIGINAL_DST cluster); STATIC balances over the listed endpoints (EDS); DNS
// resolves every endpoint name (STRICT_DNS); DNS_ROUND_ROBIN resolves one name and uses one address
// at a time (LOGICAL_DNS). A DNS entry without endpoints resolves its own hosts.
func ServiceEntryServices(se *ServiceEntry, domainSuffix string) ([]*Service, []*Endpoint) {
	spec := se.Spec
	resolution := Passthrough
	switch spec.Resolution {
	case "STATIC":
		resolution = ClientSideLB
	case "DNS":
		resolution = DNSLB
	case "DNS_ROUND_ROBIN":
		resolution = DNSRoundRobinLB
	}
	ports := make([]Port, 0, len(spec.Ports))
	for _, p := range spec.Ports {
		ports = append(ports, Port{Name: p.Name, Port: p.Number, Protocol: ParseProtocol(p.Protocol), TargetPort: p.TargetPort})
	}
	var services []*Service
	var endpoints []*Endpoint
	for _, h := range spec.Hosts {
		host := serviceEntryHost(h, se.Namespace, domainSuffix)
		services = append(services, &Service{
			Hostname:        host,
			Name:            host,
			Namespace:       se.Namespace,
			Address:         firstIP(spec.Addresses),
			Addresses:       spec.Addresses,
			Resolution:      resolution,
			Ports:           ports,
			MeshExternal:    spec.Location != "MESH_INTERNAL",
			ExportTo:        spec.ExportTo,
			SubjectAltNames: spec.SubjectAltNames,
		})
		if resolution == Passthrough {
			continue // the client's destination is the endpoint; validation refuses listed endpoints
		}
		for _, port := range ports {
			if len(spec.Endpoints) == 0 && spec.WorkloadSelector == nil && resolution != ClientSideLB {
				// A DNS entry without endpoints resolves its own host name.
				endpoints = append(endpoints, &Endpoint{Service: host, ServicePort: port.Name, Address: host,
					Port: firstNonZero(port.TargetPort, port.Port), Ready: true})
				continue
			}
			for _, we := range spec.Endpoints {
				endpoints = append(endpoints, &Endpoint{Service: host, ServicePort: port.Name, Address: we.Address,
					Port: firstNonZero(we.Ports[port.Name], port.TargetPort, port.Port), Labels: we.Labels, Ready: true,
					Locality: ParseLocality(we.Locality), Weight: we.Weight, Workload: se.Name + "." + se.Namespace})
			}
		}
	}
	return services, endpoints
}

// serviceEntryHost is a ServiceEntry host as the service's hostname: as written, as Istio's
// convertServices keeps it (a bare "db" is the host "db", not a Kubernetes service's FQDN).
func serviceEntryHost(host, _, _ string) string { return host }

// workloadEndpoints returns the endpoints a ServiceEntry's workloadSelector selects. A workload is
// what the model knows of a Pod: the labels and address of its platform endpoints. Istio selects Pods
// (and WorkloadEntries) in the entry's own namespace; here a platform endpoint's namespace is its
// service's. Each selected workload serves every port of the entry, at the port's targetPort (or its
// number), whatever service it was found through; one workload serving several services counts once.
func workloadEndpoints(se *ServiceEntry, services []*Service, platform []*Endpoint, namespaceOf func(hostname string) string) []*Endpoint {
	sel := se.Spec.WorkloadSelector
	if sel == nil || se.Spec.Resolution != "STATIC" {
		return nil
	}
	type workload struct {
		ep    *Endpoint
		ready bool
	}
	var order []string
	byAddress := map[string]*workload{}
	for _, ep := range platform {
		if namespaceOf(ep.Service) != se.Namespace || !LabelsMatch(sel.Labels, ep.Labels) {
			continue
		}
		w := byAddress[ep.Address]
		if w == nil {
			w = &workload{ep: ep}
			byAddress[ep.Address] = w
			order = append(order, ep.Address)
		}
		w.ready = w.ready || ep.Ready
	}
	var out []*Endpoint
	for _, svc := range services {
		for _, port := range svc.Ports {
			for _, addr := range order {
				w := byAddress[addr]
				out = append(out, &Endpoint{Service: svc.Hostname, ServicePort: port.Name, Address: addr,
					Port: firstNonZero(port.TargetPort, port.Port), Labels: w.ep.Labels, Ready: w.ready,
					Locality: w.ep.Locality, Workload: w.ep.Workload, Cluster: w.ep.Cluster})
			}
		}
	}
	return out
}

// addWorkloadEndpoints adds the endpoints of every workloadSelector once all parts are merged.
func (s *Snapshot) addWorkloadEndpoints(entries []*ServiceEntry, platform []*Endpoint) {
	namespaceOf := func(hostname string) string {
		if svc := s.byHost[hostname]; svc != nil {
			return svc.Namespace
		}
		return ""
	}
	for _, se := range entries {
		svcs, _ := ServiceEntryServices(se, s.DomainSuffix)
		for _, ep := range workloadEndpoints(se, svcs, platform, namespaceOf) {
			s.addEndpoint(ep)
		}
	}
}

// firstIP is the first address that is a plain IP (not a CIDR): the service's virtual IP.
func firstIP(addresses []string) string {
	for _, a := range addresses {
		if _, err := netip.ParseAddr(a); err == nil {
			return a
		}
	}
	return ""
}

func firstNonZero(vs ...uint32) uint32 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// ResolveHost turns a host as written in a rule into the hostname it names, as Istio does
// (ResolveShortName): only a name without dots is expanded, in the rule's namespace.
func (s *Snapshot) ResolveHost(host, namespace string) string {
	return ResolveShortName(host, namespace, s.DomainSuffix)
}
