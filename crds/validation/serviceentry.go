package validation

import (
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

var (
	resolutions = []string{"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"}
	locations   = []string{"MESH_EXTERNAL", "MESH_INTERNAL"}
	protocols   = []string{"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS", "UDP", "GRPC-WEB", "REDIS", "MYSQL"}
)

// ServiceEntry validates a ServiceEntry spec, with Istio's rules for each resolution.
func ServiceEntry(se *networking.ServiceEntry) Result {
	var r Result
	spec := path("spec")
	if se == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if !r.noNulls(spec, se) {
		return r
	}
	resolution := cmpOr(se.Resolution, "NONE")
	if !slices.Contains(resolutions, resolution) {
		r.errorf(spec.f("resolution"), "%q is not a resolution (want one of %v)", se.Resolution, resolutions)
	}
	if se.Location != "" && !slices.Contains(locations, se.Location) {
		r.errorf(spec.f("location"), "%q is not a location (want one of %v)", se.Location, locations)
	}
	r.serviceEntryHosts(spec, se, resolution)
	for i, a := range se.Addresses {
		r.cidr(spec.f("addresses").i(i), a)
		if strings.Contains(a, "/") && resolution != "NONE" && resolution != "STATIC" {
			r.errorf(spec.f("addresses").i(i), "a CIDR address needs resolution NONE or STATIC (a DNS entry has no range to match)")
		}
	}
	names := r.serviceEntryPorts(spec, se, resolution)
	r.serviceEntryEndpoints(spec, se, resolution, names)
	if ws := se.WorkloadSelector; ws != nil {
		r.labels(spec.f("workloadSelector").f("labels"), ws.Labels)
		if len(se.Endpoints) > 0 {
			r.errorf(spec, "only one of endpoints and workloadSelector may be set")
		}
		if resolution != "STATIC" {
			r.errorf(spec.f("workloadSelector"), "the selected workloads are endpoints, which only STATIC resolution uses (resolution is %s)", resolution)
		}
	}
	r.exportTo(spec.f("exportTo"), se.ExportTo)
	for i, san := range se.SubjectAltNames {
		if san == "" {
			r.errorf(spec.f("subjectAltNames").i(i), "a subject alternative name must not be empty")
		}
	}
	return r
}

func (r *Result) serviceEntryHosts(spec path, se *networking.ServiceEntry, resolution string) {
	if len(se.Hosts) == 0 {
		r.errorf(spec.f("hosts"), "at least one host is required")
	}
	for i, h := range se.Hosts {
		hp := spec.f("hosts").i(i)
		if h == "*" {
			r.errorf(hp, "the host \"*\" would capture every destination; name the hosts")
			continue
		}
		r.host(hp, h, true)
		if resolution == "DNS" && len(se.Endpoints) == 0 && strings.HasPrefix(h, "*") {
			r.errorf(hp, "DNS resolution without endpoints resolves the hosts, so %q must not be a wildcard", h)
		}
	}
	// On a plain TCP port nothing tells the hosts apart (HTTP has the Host header, TLS the SNI), so
	// several hosts need NONE resolution, where the destination address decides.
	if len(se.Hosts) > 1 && resolution != "NONE" {
		for i, p := range se.Ports {
			if proto := strings.ToUpper(p.Protocol); !slices.Contains([]string{"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTPS", "TLS"}, proto) {
				r.errorf(spec.f("ports").i(i).f("protocol"), "%d hosts share this %s port, but only HTTP and TLS can tell hosts apart (use one host, or resolution NONE)",
					len(se.Hosts), cmpOr(p.Protocol, "TCP"))
			}
		}
	}
}

// serviceEntryPorts checks the ports and returns their names.
func (r *Result) serviceEntryPorts(spec path, se *networking.ServiceEntry, resolution string) map[string]bool {
	if len(se.Ports) == 0 {
		r.errorf(spec.f("ports"), "at least one port is required")
	}
	names := map[string]bool{}
	numbers := map[uint32]bool{}
	for i, p := range se.Ports {
		pp := spec.f("ports").i(i)
		if p.Number == 0 || p.Number > 65535 {
			r.errorf(pp.f("number"), "port %d is outside 1..65535", p.Number)
		} else if numbers[p.Number] {
			r.errorf(pp.f("number"), "port %d is defined twice", p.Number)
		}
		numbers[p.Number] = true
		r.port(pp.f("targetPort"), p.TargetPort)
		if p.TargetPort != 0 && resolution == "NONE" {
			r.errorf(pp.f("targetPort"), "with resolution NONE connections go where the client sent them; a targetPort cannot apply")
		}
		switch {
		case p.Name == "":
			r.errorf(pp.f("name"), "a port needs a name")
		case names[p.Name]:
			r.errorf(pp.f("name"), "port name %q is used twice", p.Name)
		case !dnsLabel.MatchString(p.Name):
			r.errorf(pp.f("name"), "%q is not a valid port name (lowercase letters, digits and '-')", p.Name)
		}
		names[p.Name] = true
		switch {
		case p.Protocol == "":
			r.warnf(pp.f("protocol"), "without a protocol the port is proxied as opaque TCP (minipilot does not sniff protocols as Istio does)")
		case !slices.Contains(protocols, strings.ToUpper(p.Protocol)):
			r.errorf(pp.f("protocol"), "%q is not a protocol (want one of %v)", p.Protocol, protocols)
		}
	}
	return names
}

func (r *Result) serviceEntryEndpoints(spec path, se *networking.ServiceEntry, resolution string, names map[string]bool) {
	switch {
	case resolution == "NONE" && len(se.Endpoints) > 0:
		r.errorf(spec.f("endpoints"), "resolution NONE forwards to the address the client dialled; endpoints would not be used")
	case resolution == "DNS_ROUND_ROBIN" && len(se.Endpoints) > 1:
		r.errorf(spec.f("endpoints"), "DNS_ROUND_ROBIN resolves one name; it takes at most one endpoint (use DNS for several)")
	case resolution == "STATIC" && len(se.Endpoints) == 0 && se.WorkloadSelector == nil:
		// Istio accepts it, but traffic would have nowhere to go: refuse it with the reason.
		r.errorf(spec.f("endpoints"), "STATIC resolution needs endpoints or a workloadSelector")
	}
	weights := uint64(0)
	for _, e := range se.Endpoints {
		weights += uint64(max(e.Weight, 1))
	}
	if weights > math.MaxUint32 {
		// Envoy sums the weights of a locality's endpoints into a uint32, and refuses an overflow.
		r.errorf(spec.f("endpoints"), "the endpoint weights add up to %d, more than %d, the most Envoy takes", weights, uint64(math.MaxUint32))
	}
	for i, e := range se.Endpoints {
		ep := spec.f("endpoints").i(i)
		switch {
		case e.Address == "":
			r.errorf(ep.f("address"), "an endpoint needs an address")
		case strings.HasPrefix(e.Address, "unix://"):
			r.errorf(ep.f("address"), "Unix domain socket endpoints are not supported by minipilot")
		case resolution == "STATIC":
			if _, err := netip.ParseAddr(e.Address); err != nil {
				r.errorf(ep.f("address"), "%q is not an IP address, which STATIC resolution needs (use DNS for names)", e.Address)
			}
		case strings.Contains(e.Address, "*"):
			r.errorf(ep.f("address"), "%q: an endpoint address must not be a wildcard", e.Address)
		default:
			if _, err := netip.ParseAddr(e.Address); err != nil {
				r.host(ep.f("address"), e.Address, false)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(e.Ports)) {
			if !names[k] {
				r.errorf(ep.f("ports").k(k), "%q is not the name of one of the entry's ports", k)
			}
			if e.Ports[k] == 0 {
				r.errorf(ep.f("ports").k(k), "port 0 is outside 1..65535")
			}
			r.port(ep.f("ports").k(k), e.Ports[k])
		}
		r.labels(ep.f("labels"), e.Labels)
		if e.Locality != "" && (strings.Count(e.Locality, "/") > 2 || slices.Contains(strings.Split(e.Locality, "/"), "")) {
			r.errorf(ep.f("locality"), "%q is not region/zone/subzone", e.Locality)
		}
		if e.Network != "" {
			r.errorf(ep.f("network"), "multi-network meshes (east-west gateways) are not supported by minipilot")
		}
		if e.ServiceAccount != "" {
			r.errorf(ep.f("serviceAccount"), "workload identities need Istio's certificate authority, which minipilot does not run; verify servers with subjectAltNames instead")
		}
	}
}
