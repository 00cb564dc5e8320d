package k8s

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	crdvalidation "github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// exportToAnnotation is Istio's annotation that limits where a Kubernetes service is visible.
const exportToAnnotation = "networking.istio.io/exportTo"

// Service converts a Kubernetes Service, checked as the API server checks it. A Service whose
// name, namespace, labels, cluster IP or external name the API server would refuse is left out (nil):
// nothing could be routed to it. A port it would refuse (out of range, a bad name or target port, a
// second port with the same number and protocol or the same name) is left out and the rest of the
// Service kept, so that one bad port does not take the Service's other ports away. The problems say
// what was left out.
func Service(svc *corev1.Service, opts Options) (*model.Service, []crdvalidation.Problem) {
	var ps problems
	ok := ps.objectName(svc.Name, svc.Namespace, "Service", validation.IsDNS1035Label)
	ok = ps.labels("metadata.labels", svc.Labels) && ok
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
		ok = ps.name("spec.externalName", strings.TrimSuffix(svc.Spec.ExternalName, "."), "DNS name", validation.IsDNS1123Subdomain, "") && ok
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		out.Resolution = model.Passthrough
	default:
		out.Resolution = model.ClientSideLB
		out.Address = svc.Spec.ClusterIP
		if svc.Spec.ClusterIP != "" {
			ok = ps.ip("spec.clusterIP", svc.Spec.ClusterIP, anyIP, "") && ok
		}
	}
	if !ok {
		return nil, ps
	}
	if v := svc.Annotations[exportToAnnotation]; v != "" {
		for _, ns := range strings.Split(v, ",") {
			out.ExportTo = append(out.ExportTo, strings.TrimSpace(ns))
		}
	}
	out.Ports = servicePorts(svc.Spec.Ports, &ps)
	return out, ps
}

// servicePorts converts the ports the API server would accept and reports the others.
func servicePorts(ports []corev1.ServicePort, ps *problems) []model.Port {
	const leftOut = "the port is left out"
	var out []model.Port
	byNumber := map[string]int{} // "9080/TCP" → index of the port that has it
	byName := map[string]int{}
	for i, p := range ports {
		field := fmt.Sprintf("spec.ports[%d]", i)
		ok := ps.port(field+".port", int64(p.Port), leftOut)
		ok = ps.protocol(field+".protocol", string(p.Protocol), leftOut) && ok
		switch {
		case p.Name == "" && len(ports) > 1:
			ps.addf(field+".name", "a Service with several ports must name each; %s", leftOut)
			ok = false
		case p.Name != "":
			ok = ps.name(field+".name", p.Name, "port name", validation.IsDNS1123Label, leftOut) && ok
		}
		ok = targetPort(field+".targetPort", p.TargetPort, ps) && ok
		if p.AppProtocol != nil {
			if errs := validation.IsQualifiedName(*p.AppProtocol); len(errs) > 0 {
				ps.addf(field+".appProtocol", "%q is not a valid application protocol: %s; %s", *p.AppProtocol, strings.Join(errs, "; "), leftOut)
				ok = false
			}
		}
		if !ok {
			continue
		}
		// Two ports with one number and protocol would be two clusters with one name.
		key := fmt.Sprintf("%d/%s", p.Port, cmpOr(string(p.Protocol), "TCP"))
		if j, dup := byNumber[key]; dup {
			ps.addf(field, "Duplicate value: port %s is also spec.ports[%d]; %s", key, j, leftOut)
			continue
		}
		if j, dup := byName[p.Name]; dup && p.Name != "" {
			ps.addf(field+".name", "Duplicate value: %q is also the name of spec.ports[%d]; %s", p.Name, j, leftOut)
			continue
		}
		byNumber[key], byName[p.Name] = i, i
		port := model.Port{
			Name:     p.Name,
			Port:     uint32(p.Port),
			Protocol: model.ProtocolForPort(p.AppProtocol, p.Name, string(p.Protocol), p.Port),
		}
		if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal > 0 {
			port.TargetPort = uint32(p.TargetPort.IntVal)
		}
		out = append(out, port)
	}
	return out
}

// targetPort checks a Service port's target: a port number, or the name of a container port. Zero
// (unset) means the port's own number, as the API server defaults it.
func targetPort(field string, tp intstr.IntOrString, ps *problems) bool {
	if tp.Type == intstr.String {
		if errs := validation.IsValidPortName(tp.StrVal); len(errs) > 0 {
			ps.addf(field, "%q is not a valid port name: %s; the port is left out", tp.StrVal, strings.Join(errs, "; "))
			return false
		}
		return true
	}
	return tp.IntVal == 0 || ps.port(field, int64(tp.IntVal), "the port is left out")
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
