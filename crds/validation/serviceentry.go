package validation

import (
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

var (
	resolutions = []string{"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"}
	locations   = []string{"MESH_EXTERNAL", "MESH_INTERNAL"}
	protocols   = []string{"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS", "UDP", "GRPC-WEB", "REDIS", "MYSQL"}
	serverTLS   = []string{"PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"}
)

// ServiceEntry validates a ServiceEntry spec.
func ServiceEntry(se *networking.ServiceEntry) Result {
	var r Result
	spec := path("spec")
	if se == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if len(se.Hosts) == 0 {
		r.errorf(spec.f("hosts"), "at least one host is required")
	}
	for i, h := range se.Hosts {
		r.host(spec.f("hosts").i(i), h, true)
	}
	for i, a := range se.Addresses {
		r.cidr(spec.f("addresses").i(i), a)
	}
	if se.Resolution != "" && !slices.Contains(resolutions, se.Resolution) {
		r.errorf(spec.f("resolution"), "%q is not a resolution (want one of %v)", se.Resolution, resolutions)
	}
	if se.Location != "" && !slices.Contains(locations, se.Location) {
		r.errorf(spec.f("location"), "%q is not a location (want one of %v)", se.Location, locations)
	}
	if len(se.Ports) == 0 {
		r.errorf(spec.f("ports"), "at least one port is required")
	}
	names := map[string]bool{}
	for i, p := range se.Ports {
		pp := spec.f("ports").i(i)
		if p.Number == 0 || p.Number > 65535 {
			r.errorf(pp.f("number"), "port %d is outside 1..65535", p.Number)
		}
		r.port(pp.f("targetPort"), p.TargetPort)
		if p.Name == "" {
			r.errorf(pp.f("name"), "a port needs a name")
		} else if names[p.Name] {
			r.errorf(pp.f("name"), "port name %q is used twice", p.Name)
		}
		names[p.Name] = true
		if p.Protocol != "" && !slices.Contains(protocols, strings.ToUpper(p.Protocol)) {
			r.errorf(pp.f("protocol"), "%q is not a protocol (want one of %v)", p.Protocol, protocols)
		}
	}
	if se.Resolution == "STATIC" && len(se.Endpoints) == 0 && se.WorkloadSelector == nil {
		r.errorf(spec.f("endpoints"), "STATIC resolution needs endpoints or a workloadSelector")
	}
	if len(se.Endpoints) > 0 && se.WorkloadSelector != nil {
		r.errorf(spec, "only one of endpoints and workloadSelector may be set")
	}
	for i, e := range se.Endpoints {
		ep := spec.f("endpoints").i(i)
		if e.Address == "" {
			r.errorf(ep.f("address"), "an endpoint needs an address")
		} else if se.Resolution == "STATIC" {
			r.cidr(ep.f("address"), e.Address)
		}
		for _, k := range sortedKeys(e.Ports) {
			if !names[k] {
				r.errorf(ep.f("ports").k(k), "%q is not the name of one of the entry's ports", k)
			}
			r.port(ep.f("ports").k(k), e.Ports[k])
		}
	}
	return r
}

// Gateway validates a Gateway spec.
func Gateway(gw *networking.Gateway) Result {
	var r Result
	spec := path("spec")
	if gw == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if len(gw.Servers) == 0 {
		r.errorf(spec.f("servers"), "at least one server is required")
	}
	for i, s := range gw.Servers {
		sp := spec.f("servers").i(i)
		if s.Port == nil || s.Port.Number == 0 {
			r.errorf(sp.f("port").f("number"), "a server needs a port number")
		} else {
			r.port(sp.f("port").f("number"), s.Port.Number)
			if !slices.Contains(protocols, strings.ToUpper(s.Port.Protocol)) {
				r.errorf(sp.f("port").f("protocol"), "%q is not a protocol (want one of %v)", s.Port.Protocol, protocols)
			}
		}
		if len(s.Hosts) == 0 {
			r.errorf(sp.f("hosts"), "at least one host is required")
		}
		for j, h := range s.Hosts {
			host := h
			if _, after, ok := strings.Cut(h, "/"); ok { // "namespace/host"
				host = after
			}
			r.host(sp.f("hosts").i(j), host, true)
		}
		if t := s.TLS; t != nil {
			if t.Mode != "" && !slices.Contains(serverTLS, t.Mode) {
				r.errorf(sp.f("tls").f("mode"), "%q is not a TLS mode (want one of %v)", t.Mode, serverTLS)
			}
			if (t.Mode == "SIMPLE" || t.Mode == "MUTUAL") && t.CredentialName == "" && (t.ServerCertificate == "" || t.PrivateKey == "") {
				r.errorf(sp.f("tls"), "%s mode needs serverCertificate and privateKey (file paths)", t.Mode)
			}
		}
	}
	return r
}
