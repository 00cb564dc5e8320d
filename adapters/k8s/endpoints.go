//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

package k8s

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipilot/minipilot/model"
)

// What a bad item of an endpoints object costs. The API server would refuse the whole object; here
// only the item goes, so that one bad address or port never withholds a service's other endpoints.
const (
	addressLeftOut  = "the address is left out"
	endpointLeftOut = "the endpoint is left out"
	portLeftOut     = "the port is left out"
)

// endpointPort is a checked port of an EndpointSlice or an Endpoints subset.
type endpointPort struct {
	name string
	port uint32
}

// endpointSlice converts the endpoints of an EndpointSlice, one model endpoint per address and port.
// Labels come from the Pod the endpoint refers to; the locality from the endpoint's zone and its Node.
// ok is false when the whole slice is left out (its name, its Service's name, its address type);
// otherwise problems name the addresses, endpoints and ports left out.
func endpointSlice(es *discoveryv1.EndpointSlice, pods PodLookup, nodes NodeLookup, opts Options) (out []*model.Endpoint, ps problems, ok bool) {
	svcName := es.Labels[discoveryv1.LabelServiceName]
	if svcName == "" || es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil, true // not a Service's, or names the proxy cannot use: nothing to convert
	}
	ok = ps.objectName(es.Name, es.Namespace, "EndpointSlice", validation.IsDNS1123Subdomain)
	ok = ps.labels("metadata.labels", es.Labels) && ok
	ok = ps.name("metadata.labels["+discoveryv1.LabelServiceName+"]", svcName, "Service name", validation.IsDNS1035Label, "") && ok
	family := anyIP
	switch es.AddressType {
	case discoveryv1.AddressTypeIPv4:
		family = ipv4
	case discoveryv1.AddressTypeIPv6:
		family = ipv6
	default:
		ps.addf("addressType", "%q is not IPv4, IPv6 or FQDN", es.AddressType)
		ok = false
	}
	if !ok {
		return nil, ps, false
	}
	var ports []endpointPort
	names := map[string]int{}
	for i, p := range es.Ports {
		if p.Port == nil {
			continue // "any port": nothing a proxy can dial
		}
		name := derefOr(p.Name, "")
		proto := string(derefOr(p.Protocol, corev1.ProtocolTCP))
		if checkEndpointPort(fmt.Sprintf("ports[%d]", i), name, int64(*p.Port), proto, false, names, i, &ps) {
			ports = append(ports, endpointPort{name: name, port: uint32(*p.Port)})
		}
	}
	host := model.ServiceHostname(svcName, es.Namespace, opts.DomainSuffix)
	for i, e := range es.Endpoints {
		field := fmt.Sprintf("endpoints[%d]", i)
		nodeName := derefOr(e.NodeName, "")
		if !checkNodeName(field+".nodeName", nodeName, &ps) {
			continue
		}
		loc := locality(nodeName, nodes)
		if e.Zone != nil {
			if !ps.name(field+".zone", *e.Zone, "zone (a label value)", validation.IsValidLabelValue, endpointLeftOut) {
				continue
			}
			if loc.Zone == "" {
				loc.Zone = *e.Zone
			}
		}
		ready := e.Conditions.Ready == nil || *e.Conditions.Ready
		labels, workload := podLabels(e.TargetRef, pods)
		for j, addr := range e.Addresses {
			if !ps.ip(fmt.Sprintf("%s.addresses[%d]", field, j), addr, family, addressLeftOut) {
				continue
			}
			for _, p := range ports {
				out = append(out, &model.Endpoint{
					Service: host, ServicePort: p.name, Address: addr, Port: p.port,
					Labels: labels, Ready: ready, Locality: loc, Workload: workload, Cluster: opts.Cluster,
				})
			}
		}
	}
	return out, ps, true
}

// endpoints converts a v1 Endpoints object: ready addresses and not-ready ones (kept, marked). ok is
// false when the whole object is left out (its name, which must be its Service's).
func endpoints(ep *corev1.Endpoints, pods PodLookup, nodes NodeLookup, opts Options) (out []*model.Endpoint, ps problems, ok bool) {
	ok = ps.objectName(ep.Name, ep.Namespace, "Endpoints (and Service)", validation.IsDNS1035Label)
	ok = ps.labels("metadata.labels", ep.Labels) && ok
	if !ok {
		return nil, ps, false
	}
	host := model.ServiceHostname(ep.Name, ep.Namespace, opts.DomainSuffix)
	for i, subset := range ep.Subsets {
		var ports []endpointPort
		names := map[string]int{}
		for k, p := range subset.Ports {
			field := fmt.Sprintf("subsets[%d].ports[%d]", i, k)
			if checkEndpointPort(field, p.Name, int64(p.Port), string(p.Protocol), len(subset.Ports) > 1, names, k, &ps) {
				ports = append(ports, endpointPort{name: p.Name, port: uint32(p.Port)})
			}
		}
		for _, group := range []struct {
			field string
			addrs []corev1.EndpointAddress
			ready bool
		}{{"addresses", subset.Addresses, true}, {"notReadyAddresses", subset.NotReadyAddresses, false}} {
			for j, a := range group.addrs {
				field := fmt.Sprintf("subsets[%d].%s[%d]", i, group.field, j)
				nodeName := derefOr(a.NodeName, "")
				if !ps.ip(field+".ip", a.IP, anyIP, addressLeftOut) || !checkNodeName(field+".nodeName", nodeName, &ps) {
					continue
				}
				labels, workload := podLabels(a.TargetRef, pods)
				for _, p := range ports {
					out = append(out, &model.Endpoint{
						Service: host, ServicePort: p.name, Address: a.IP, Port: p.port,
						Labels: labels, Ready: group.ready, Locality: locality(nodeName, nodes),
						Workload: workload, Cluster: opts.Cluster,
					})
				}
			}
		}
	}
	return out, ps, true
}

// checkEndpointPort checks one port of an endpoints object; names holds the names seen so far.
func checkEndpointPort(field, name string, port int64, proto string, requireName bool, names map[string]int, index int, ps *problems) bool {
	ok := ps.port(field+".port", port, portLeftOut)
	ok = ps.protocol(field+".protocol", proto, portLeftOut) && ok
	switch {
	case name == "" && requireName:
		ps.addf(field+".name", "several ports must each have a name; %s", portLeftOut)
		ok = false
	case name != "":
		ok = ps.name(field+".name", name, "port name", validation.IsDNS1123Label, portLeftOut) && ok
	}
	if !ok {
		return false
	}
	if j, dup := names[name]; dup {
		ps.addf(field+".name", "Duplicate value: %q is also the name of port %d; %s", name, j, portLeftOut)
		return false
	}
	names[name] = index
	return true
}

func checkNodeName(field, nodeName string, ps *problems) bool {
	if nodeName == "" {
		return true
	}
	if errs := validation.IsDNS1123Subdomain(nodeName); len(errs) > 0 {
		ps.addf(field, "%q is not a valid Node name; %s", nodeName, endpointLeftOut)
		return false
	}
	return true
}

func podLabels(ref *corev1.ObjectReference, pods PodLookup) (map[string]string, string) {
	if ref == nil || ref.Kind != "Pod" {
		return nil, ""
	}
	workload := ref.Name + "." + ref.Namespace
	if pod := pods(ref.Namespace, ref.Name); pod != nil {
		return pod.Labels, workload
	}
	return nil, workload
}

func locality(nodeName string, nodes NodeLookup) model.Locality {
	if nodeName == "" {
		return model.Locality{}
	}
	node := nodes(nodeName)
	if node == nil {
		return model.Locality{}
	}
	return model.Locality{
		Region:  node.Labels[corev1.LabelTopologyRegion],
		Zone:    node.Labels[corev1.LabelTopologyZone],
		SubZone: node.Labels[subzoneLabel],
	}
}

// subzoneLabel is Istio's label for the third level of a locality.
const subzoneLabel = "topology.istio.io/subzone"

func derefOr[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}
