//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

package k8s

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/minipilot/minipilot/model"
)

// exportToAnnotation is Istio's annotation that limits where a Kubernetes service is visible.
const exportToAnnotation = "networking.istio.io/exportTo"

// Service converts a Kubernetes Service.
func Service(svc *corev1.Service, opts Options) *model.Service {
	out := &model.Service{
		Hostname:  model.ServiceHostname(svc.Name, svc.Namespace, opts.DomainSuffix),
		Name:      svc.Name,
		Namespace: svc.Namespace,
		Labels:    svc.Labels,
	}
	if opts.Cluster != "" {
		out.Clusters = []string{opts.Cluster}
	}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		out.Resolution = model.DNSLB
		out.ExternalName = svc.Spec.ExternalName
		out.MeshExternal = true
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		out.Resolution = model.Passthrough
	default:
		out.Resolution = model.ClientSideLB
		out.Address = svc.Spec.ClusterIP
	}
	if v := svc.Annotations[exportToAnnotation]; v != "" {
		for _, ns := range strings.Split(v, ",") {
			out.ExportTo = append(out.ExportTo, strings.TrimSpace(ns))
		}
	}
	for _, p := range svc.Spec.Ports {
		port := model.Port{
			Name:     p.Name,
			Port:     uint32(p.Port),
			Protocol: model.ProtocolForPort(p.AppProtocol, p.Name, string(p.Protocol)),
		}
		if p.TargetPort.IntVal > 0 {
			port.TargetPort = uint32(p.TargetPort.IntVal)
		}
		out.Ports = append(out.Ports, port)
	}
	return out
}

// EndpointSlice converts the endpoints of an EndpointSlice, one model endpoint per address and port.
// Labels come from the Pod the endpoint refers to; the locality from the endpoint's zone and its Node.
func EndpointSlice(es *discoveryv1.EndpointSlice, pods PodLookup, nodes NodeLookup, opts Options) []*model.Endpoint {
	svcName := es.Labels[discoveryv1.LabelServiceName]
	if svcName == "" || es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil
	}
	host := model.ServiceHostname(svcName, es.Namespace, opts.DomainSuffix)
	var out []*model.Endpoint
	for _, e := range es.Endpoints {
		ready := e.Conditions.Ready == nil || *e.Conditions.Ready
		labels, workload := podLabels(e.TargetRef, pods)
		nodeName := ""
		if e.NodeName != nil {
			nodeName = *e.NodeName
		}
		loc := locality(nodeName, nodes)
		if e.Zone != nil && loc.Zone == "" {
			loc.Zone = *e.Zone
		}
		for _, addr := range e.Addresses {
			for _, p := range es.Ports {
				if p.Port == nil {
					continue
				}
				name := ""
				if p.Name != nil {
					name = *p.Name
				}
				out = append(out, &model.Endpoint{
					Service: host, ServicePort: name, Address: addr, Port: uint32(*p.Port),
					Labels: labels, Ready: ready, Locality: loc, Workload: workload, Cluster: opts.Cluster,
				})
			}
		}
	}
	return out
}

// Endpoints converts a v1 Endpoints object: ready addresses and not-ready ones (kept, marked).
func Endpoints(ep *corev1.Endpoints, pods PodLookup, nodes NodeLookup, opts Options) []*model.Endpoint {
	host := model.ServiceHostname(ep.Name, ep.Namespace, opts.DomainSuffix)
	var out []*model.Endpoint
	for _, subset := range ep.Subsets {
		for _, group := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{subset.Addresses, true}, {subset.NotReadyAddresses, false}} {
			for _, a := range group.addrs {
				labels, workload := podLabels(a.TargetRef, pods)
				nodeName := ""
				if a.NodeName != nil {
					nodeName = *a.NodeName
				}
				for _, p := range subset.Ports {
					out = append(out, &model.Endpoint{
						Service: host, ServicePort: p.Name, Address: a.IP, Port: uint32(p.Port),
						Labels: labels, Ready: group.ready, Locality: locality(nodeName, nodes),
						Workload: workload, Cluster: opts.Cluster,
					})
				}
			}
		}
	}
	return out
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
		SubZone: node.Labels["topology.istio.io/subzone"],
	}
}
