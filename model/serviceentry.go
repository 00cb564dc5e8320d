package model

// ServiceEntryServices converts a ServiceEntry into the services (one per host) and endpoints it
// declares, so that it is routed and shaped like any other service.
func ServiceEntryServices(se *ServiceEntry, domainSuffix string) ([]*Service, []*Endpoint) {
	spec := se.Spec
	resolution := ClientSideLB
	switch spec.Resolution {
	case "NONE", "":
		resolution = Passthrough
	case "DNS":
		resolution = DNSLB
	case "DNS_ROUND_ROBIN":
		resolution = DNSRoundRobinLB
	}
	ports := make([]Port, 0, len(spec.Ports))
	for _, p := range spec.Ports {
		ports = append(ports, Port{Name: p.Name, Port: p.Number, Protocol: ParseProtocol(p.Protocol), TargetPort: p.TargetPort})
	}
	var address string
	if len(spec.Addresses) > 0 {
		address = spec.Addresses[0]
	}
	var services []*Service
	var endpoints []*Endpoint
	for _, host := range spec.Hosts {
		host = ResolveShortName(host, se.Namespace, domainSuffix)
		services = append(services, &Service{
			Hostname:     host,
			Name:         host,
			Namespace:    se.Namespace,
			Address:      address,
			Resolution:   resolution,
			Ports:        ports,
			MeshExternal: spec.Location != "MESH_INTERNAL",
			ExportTo:     spec.ExportTo,
		})
		for _, port := range ports {
			if len(spec.Endpoints) == 0 && (resolution == DNSLB || resolution == DNSRoundRobinLB) {
				// A DNS entry without endpoints resolves its own host name.
				endpoints = append(endpoints, &Endpoint{Service: host, ServicePort: port.Name, Address: host,
					Port: firstNonZero(port.TargetPort, port.Port), Ready: true})
				continue
			}
			for _, we := range spec.Endpoints {
				target := firstNonZero(we.Ports[port.Name], port.TargetPort, port.Port)
				endpoints = append(endpoints, &Endpoint{Service: host, ServicePort: port.Name, Address: we.Address,
					Port: target, Labels: we.Labels, Ready: true, Locality: ParseLocality(we.Locality), Weight: we.Weight})
			}
		}
	}
	return services, endpoints
}

func firstNonZero(vs ...uint32) uint32 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}
