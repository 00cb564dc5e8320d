package model

import (
	"fmt"
	"net/netip"
	"strings"
)

// CheckPart returns the part without what no proxy can be configured with, whatever source it came
// from: a service whose hostname is not a DNS name or whose address is not an IP, a port outside
// 1..65535 or defined twice, an endpoint whose address is neither an IP nor a DNS name or whose port
// is out of range. Each is listed in Rejections with the reason. The adapters check their input
// first, with their platform's rules; this is the neutral net under them, so that one bad object
// never makes the proxies refuse a whole update (a newline in one hostname fails the route
// configuration every service shares). p is not modified: a service that loses a port is a copy.
func CheckPart(p Part) Part {
	out := p
	out.Services = nil
	out.Rejections = append([]Rejection(nil), p.Rejections...)
	for _, svc := range p.Services {
		if svc == nil {
			continue
		}
		kept, problems := checkService(svc)
		if len(problems) > 0 {
			reason := strings.Join(problems, "; ")
			if kept == nil {
				reason = "the service is left out: " + reason
			}
			out.Rejections = append(out.Rejections, Rejection{Meta: Meta{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}, Reason: reason})
		}
		if kept != nil {
			out.Services = append(out.Services, kept)
		}
	}
	out.Endpoints = nil
	var order []string
	bad := map[string][]string{} // service hostname → what was wrong with its endpoints
	for _, ep := range p.Endpoints {
		if ep == nil {
			continue
		}
		if problem := checkEndpoint(ep); problem != "" {
			if bad[ep.Service] == nil {
				order = append(order, ep.Service)
			}
			bad[ep.Service] = append(bad[ep.Service], problem)
			continue
		}
		out.Endpoints = append(out.Endpoints, ep)
	}
	for _, host := range order {
		problems := bad[host]
		reason := strings.Join(problems[:min(len(problems), 10)], "; ")
		if len(problems) > 10 {
			reason += fmt.Sprintf("; and %d more", len(problems)-10)
		}
		out.Rejections = append(out.Rejections, Rejection{Meta: Meta{Kind: "Endpoints", Name: host},
			Reason: "endpoints left out: " + reason})
	}
	return out
}

// checkService returns the service (a copy without the ports it cannot use, if any), or nil if it
// cannot be used at all, and what is wrong with it.
func checkService(svc *Service) (*Service, []string) {
	var problems []string
	if !IsDNSName(svc.Hostname, true) {
		problems = append(problems, fmt.Sprintf("hostname %q is not a DNS name", svc.Hostname))
	}
	if svc.Address != "" && !isIP(svc.Address) {
		problems = append(problems, fmt.Sprintf("address %q is not an IP address", svc.Address))
	}
	for i, a := range svc.Addresses {
		if _, err := netip.ParsePrefix(a); err != nil && !isIP(a) {
			problems = append(problems, fmt.Sprintf("addresses[%d]: %q is neither an IP address nor a CIDR", i, a))
		}
	}
	if svc.ExternalName != "" && !IsDNSName(svc.ExternalName, false) {
		problems = append(problems, fmt.Sprintf("externalName %q is not a DNS name", svc.ExternalName))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var ports []Port
	numbers := map[string]int{} // "9080/TCP": a port number once per transport (53/TCP and 53/UDP may both be)
	names := map[string]int{}
	for i, p := range svc.Ports {
		transport := "TCP"
		if p.Protocol == ProtocolUDP {
			transport = "UDP"
		}
		key := fmt.Sprintf("%d/%s", p.Port, transport)
		j, dupNumber := numbers[key]
		k, dupName := names[p.Name]
		switch {
		case p.Port < 1 || p.Port > 65535:
			problems = append(problems, fmt.Sprintf("ports[%d]: port %d is outside 1..65535; the port is left out", i, p.Port))
		case p.TargetPort > 65535:
			problems = append(problems, fmt.Sprintf("ports[%d]: targetPort %d is outside 1..65535; the port is left out", i, p.TargetPort))
		case dupNumber:
			problems = append(problems, fmt.Sprintf("ports[%d]: port %s is also ports[%d]; the port is left out", i, key, j))
		case dupName:
			problems = append(problems, fmt.Sprintf("ports[%d]: name %q is also the name of ports[%d]; the port is left out", i, p.Name, k))
		default:
			numbers[key], names[p.Name] = i, i
			ports = append(ports, p)
		}
	}
	if len(problems) == 0 {
		return svc, nil
	}
	kept := *svc
	kept.Ports = ports
	return &kept, problems
}

// checkEndpoint says what is wrong with an endpoint; empty when nothing is.
func checkEndpoint(ep *Endpoint) string {
	switch {
	case !IsDNSName(ep.Service, true):
		return fmt.Sprintf("%s:%d: service %q is not a DNS name", ep.Address, ep.Port, ep.Service)
	case !isIP(ep.Address) && !IsDNSName(ep.Address, false):
		return fmt.Sprintf("%q is neither an IP address nor a DNS name", ep.Address)
	case ep.Port < 1 || ep.Port > 65535:
		return fmt.Sprintf("%s: port %d is outside 1..65535", ep.Address, ep.Port)
	}
	return ""
}

// isIP says whether s is an IP address without a zone.
func isIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// IsDNSName says whether s is a DNS name: at most 253 characters of dot-separated labels of 1..63
// letters, digits and inner hyphens. With wildcard, a leading "*." (or "*" alone) is allowed too.
func IsDNSName(s string, wildcard bool) bool {
	if wildcard {
		if s == "*" {
			return true
		}
		s = strings.TrimPrefix(s, "*.")
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
