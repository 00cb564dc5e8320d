package translate

import (
	"fmt"

	"github.com/minipilot/minipilot/model"
)

// Service ports as the translator serves them. Whatever the source let through, a service's ports
// must give distinct resources: Istio names clusters, listeners and virtual hosts by port number, so
// two ports of one number (names "http" and "http2", both 9080) would make a duplicate cluster in
// one response, which the client refuses whole. So each number is served once, by the first port
// that has it in the service's order (the order Kubernetes keeps), and a number outside 1-65535 is
// not served at all. UDP ports are dropped silently: no proxy here serves UDP, and Kubernetes lets a
// UDP and a TCP port share a number (DNS on 53).

// servedPorts returns the ports of svc that are served, and what was left out and why (nil when
// nothing was, the usual case, decided without allocating).
func servedPorts(svc *model.Service) ([]model.Port, []string) {
	if !needsPortFix(svc.Ports) {
		return svc.Ports, nil
	}
	var out []model.Port
	var problems []string
	first := map[uint32]int{} // number → index of the port serving it
	for i, p := range svc.Ports {
		switch j, dup := first[p.Port]; {
		case p.Protocol == model.ProtocolUDP:
		case p.Port == 0 || p.Port > 65535:
			problems = append(problems, fmt.Sprintf("spec.ports[%d].port: %d (%q) is outside 1-65535", i, p.Port, p.Name))
		case dup:
			problems = append(problems, fmt.Sprintf("spec.ports[%d].port: %d (%q) repeats the number of spec.ports[%d] (%q), which is served",
				i, p.Port, p.Name, j, svc.Ports[j].Name))
		default:
			first[p.Port] = i
			out = append(out, p)
		}
	}
	return out, problems
}

// needsPortFix says whether some port is UDP, out of range or a repeated number.
func needsPortFix(ports []model.Port) bool {
	for i, p := range ports {
		if p.Protocol == model.ProtocolUDP || p.Port == 0 || p.Port > 65535 {
			return true
		}
		for _, q := range ports[:i] {
			if q.Port == p.Port {
				return true
			}
		}
	}
	return false
}

// servedService is svc with only its served ports: svc itself when all are, else a copy (the
// snapshot is shared and must not change).
func servedService(svc *model.Service) (*model.Service, []string) {
	ports, problems := servedPorts(svc)
	if len(ports) == len(svc.Ports) {
		return svc, nil
	}
	fixed := *svc
	fixed.Ports = ports
	return &fixed, problems
}

// service returns the service with that hostname as the translator serves it.
func (b *builder) service(hostname string) *model.Service {
	if svc, ok := b.fixed[hostname]; ok {
		return svc
	}
	return b.snap.Service(hostname)
}

// warnUnservedPorts reports, for every service the proxy sees, the ports that are not served.
func (b *builder) warnUnservedPorts() {
	for _, svc := range b.services {
		if _, fixed := b.fixed[svc.Hostname]; !fixed {
			continue
		}
		_, problems := servedPorts(b.snap.Service(svc.Hostname))
		for _, p := range problems {
			b.warn(serviceObject(svc), ResourceRef{}, "Service %s/%s (%s): %s; that port is left out", svc.Namespace, svc.Name, svc.Hostname, p)
		}
	}
}
