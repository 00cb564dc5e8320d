package validation

import (
	"net"
	"strconv"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

var sidecarProtocols = []string{"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS", "UDP", "GRPC-WEB", "REDIS", "MYSQL"}

// Sidecar validates a Sidecar spec as Istio's ValidateSidecar does, for the fields minipilot builds:
// egress hosts of the form namespace/dnsName, one catch-all egress listener (no port) and last,
// unique ports, ingress listeners with a port and a loopback or wildcard defaultEndpoint.
func Sidecar(sc *networking.Sidecar) Result {
	var r Result
	spec := path("spec")
	if sc == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if !r.noNulls(spec, sc) {
		return r
	}
	if len(sc.Egress) == 0 && len(sc.Ingress) == 0 && sc.OutboundTrafficPolicy == nil {
		r.errorf(spec, "sidecar: empty configuration provided")
	}
	if sel := sc.WorkloadSelector; sel != nil {
		if len(sel.Labels) == 0 {
			r.warnf(spec.f("workloadSelector").f("labels"), "no labels: the Sidecar applies to every workload in its namespace")
		}
		r.labels(spec.f("workloadSelector").f("labels"), sel.Labels)
	}
	ports := map[uint32]bool{}
	for i, in := range sc.Ingress {
		ip := spec.f("ingress").i(i)
		if in.Port == nil {
			r.errorf(ip.f("port"), "port is required for ingress listeners")
			continue
		}
		r.sidecarPort(ip.f("port"), in.Port)
		if ports[in.Port.Number] {
			r.errorf(ip.f("port").f("number"), "ports on IP bound listeners must be unique (port %d repeats)", in.Port.Number)
		}
		ports[in.Port.Number] = true
		if in.DefaultEndpoint != "" {
			r.defaultEndpoint(ip.f("defaultEndpoint"), in.DefaultEndpoint)
		}
	}
	ports = map[uint32]bool{}
	catchAll := false
	for i, eg := range sc.Egress {
		ep := spec.f("egress").i(i)
		if eg.Port == nil {
			switch {
			case catchAll:
				r.errorf(ep.f("port"), "egress can have only one listener with empty port")
			case i != len(sc.Egress)-1:
				r.errorf(ep.f("port"), "the egress listener with empty port should be the last listener in the list")
			}
			catchAll = true
		} else {
			if eg.Port.Number == 0 {
				r.errorf(ep.f("port").f("number"), "port 0 is a unix domain socket listener, which minipilot does not build")
			} else {
				r.sidecarPort(ep.f("port"), eg.Port)
			}
			if ports[eg.Port.Number] {
				r.errorf(ep.f("port").f("number"), "ports on IP bound listeners must be unique (port %d repeats)", eg.Port.Number)
			}
			ports[eg.Port.Number] = true
		}
		if len(eg.Hosts) == 0 {
			r.errorf(ep.f("hosts"), "egress listener must contain at least one host")
		}
		r.egressHosts(ep.f("hosts"), eg.Hosts)
	}
	if tp := sc.OutboundTrafficPolicy; tp != nil && tp.Mode != "" && tp.Mode != "ALLOW_ANY" && tp.Mode != "REGISTRY_ONLY" {
		r.errorf(spec.f("outboundTrafficPolicy").f("mode"), "%q is not ALLOW_ANY or REGISTRY_ONLY (ALLOW_ANY_DYNAMIC_DNS is only supported in MeshConfig)", tp.Mode)
	}
	return r
}

func (r *Result) sidecarPort(p path, port *networking.SidecarPort) {
	if port.Number == 0 || port.Number > 65535 {
		r.errorf(p.f("number"), "port %d is outside 1..65535", port.Number)
	}
	proto := strings.ToUpper(port.Protocol)
	found := false
	for _, known := range sidecarProtocols {
		found = found || proto == known
	}
	if !found {
		r.errorf(p.f("protocol"), "%q is not a protocol Istio knows (%s)", port.Protocol, strings.Join(sidecarProtocols, ", "))
	}
	if port.Name != "" && !dnsLabel.MatchString(port.Name) {
		r.errorf(p.f("name"), "%q is not a valid port name (lowercase letters, digits and '-')", port.Name)
	}
}

func (r *Result) defaultEndpoint(p path, ep string) {
	if strings.HasPrefix(ep, "unix://") {
		r.errorf(p, "%q: unix domain socket endpoints are not supported by minipilot", ep)
		return
	}
	h, port, err := net.SplitHostPort(ep)
	if err != nil {
		r.errorf(p, "%q: %v", ep, err)
		return
	}
	switch h {
	case "", "127.0.0.1", "0.0.0.0", "::1", "::":
	default:
		r.errorf(p, "defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port or unset (got %q)", ep)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		r.errorf(p, "defaultEndpoint port %q is not a number in 1..65535", port)
	}
}

// egressHosts checks the hosts of an egress listener as Istio does: "namespace/dnsName", where the
// namespace is a name, ".", "*" or "~" (none), or starts with "~" to exclude, and the name is "*", a
// wildcard such as "*.example.com" or a DNS name. Repeats are warned about.
func (r *Result) egressHosts(p path, hosts []string) {
	byNS := map[string]map[string]bool{}
	for j, h := range hosts {
		hp := p.i(j)
		ns, name, ok := strings.Cut(h, "/")
		if !ok || strings.Contains(name, "/") {
			r.errorf(hp, "%q: host must be of form namespace/dnsName", h)
			continue
		}
		if ns == "" {
			r.errorf(hp, "%q: the namespace part must not be empty (use \"*\" for every namespace)", h)
			continue
		}
		if n := strings.TrimPrefix(ns, "~"); n != "" && n != "*" && n != "." && !dnsLabel.MatchString(n) {
			r.errorf(hp, "%q: %q is not a valid namespace name", h, n)
		}
		if name != "*" {
			r.host(hp, name, true)
		}
		if strings.HasPrefix(ns, "~") {
			continue
		}
		if byNS[ns] == nil {
			byNS[ns] = map[string]bool{}
		}
		if byNS[ns][name] || byNS[ns]["*"] || (name == "*" && len(byNS[ns]) > 0) {
			r.warnf(hp, "duplicated egress host: %s", h)
		}
		byNS[ns][name] = true
	}
	if byNS["*"]["*"] && len(byNS) != 1 {
		r.warnf(p, "`*/*` host select all resources, no other hosts can be added")
	}
}
