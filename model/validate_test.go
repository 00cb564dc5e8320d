package model

import (
	"strings"
	"testing"
)

// TestCheckPart: whatever a source hands the store, a service or endpoint a proxy cannot be
// configured with is dropped with a rejection, and the rest passes unchanged. Before, a hostname
// with a newline failed the route configuration every sidecar shares, and endpoint addresses and
// ports were sent as they came.
func TestCheckPart(t *testing.T) {
	http := func(name string, n uint32) Port { return Port{Name: name, Port: n, Protocol: ProtocolHTTP} }
	svc := func(host string, ports ...Port) *Service {
		return &Service{Hostname: host, Name: strings.Split(host, ".")[0], Namespace: "ns", Address: "10.96.0.1", Ports: ports}
	}
	cases := []struct {
		name      string
		service   *Service
		endpoint  *Endpoint
		reason    string // a piece of the rejection; empty: none
		ports     int    // ports of the service kept; -1: the service is left out
		endpoints int
	}{
		{name: "valid", service: svc("a.ns.svc.cluster.local", http("http", 80)), ports: 1},
		{name: "wildcard hostname", service: svc("*.example.com", http("http", 80)), ports: 1},
		{name: "hostname with a newline", service: svc("a\nb.ns.svc.cluster.local", http("http", 80)),
			reason: `the service is left out: hostname "a\nb.ns.svc.cluster.local" is not a DNS name`, ports: -1},
		{name: "hostname of 300 characters", service: svc(strings.Repeat("a", 300)+".ns", http("http", 80)), reason: "is not a DNS name", ports: -1},
		{name: "label with an underscore", service: svc("bad_name.ns.svc.cluster.local", http("http", 80)), reason: "is not a DNS name", ports: -1},
		{name: "address not an IP", service: &Service{Hostname: "a.ns", Address: "ten", Ports: []Port{http("http", 80)}}, reason: `address "ten" is not an IP address`, ports: -1},
		{name: "bad CIDR", service: &Service{Hostname: "a.ns", Addresses: []string{"10.0.0.0/33"}}, reason: "addresses[0]", ports: -1},
		{name: "bad external name", service: &Service{Hostname: "a.ns", ExternalName: "db example.com"}, reason: "externalName", ports: -1},
		{name: "port above 65535", service: svc("a.ns", http("a", 70000), http("b", 80)), reason: "ports[0]: port 70000 is outside 1..65535; the port is left out", ports: 1},
		{name: "port 0", service: svc("a.ns", http("a", 0), http("b", 80)), reason: "ports[0]: port 0 is outside", ports: 1},
		{name: "target port above 65535", service: svc("a.ns", Port{Name: "a", Port: 80, TargetPort: 1 << 20}), reason: "ports[0]: targetPort", ports: 0},
		{name: "one number twice", service: svc("a.ns", http("http", 9080), Port{Name: "http2", Port: 9080, Protocol: ProtocolHTTP2}),
			reason: "ports[1]: port 9080/TCP is also ports[0]", ports: 1},
		{name: "one number on TCP and UDP", service: svc("a.ns", Port{Name: "dns", Port: 53, Protocol: ProtocolTCP}, Port{Name: "dns-udp", Port: 53, Protocol: ProtocolUDP}), ports: 2},
		{name: "one name twice", service: svc("a.ns", http("http", 80), http("http", 81)), reason: `ports[1]: name "http" is also`, ports: 1},

		{name: "endpoint address not an IP", endpoint: &Endpoint{Service: "a.ns", Address: "not an ip", Port: 80}, reason: `endpoints left out: "not an ip" is neither an IP address nor a DNS name`, ports: -1},
		{name: "endpoint with a DNS name", endpoint: &Endpoint{Service: "a.ns", Address: "db.example.com", Port: 80}, ports: -1, endpoints: 1},
		{name: "endpoint port above 65535", endpoint: &Endpoint{Service: "a.ns", Address: "10.1.0.1", Port: 70000}, reason: "10.1.0.1: port 70000 is outside", ports: -1},
		{name: "endpoint port 0", endpoint: &Endpoint{Service: "a.ns", Address: "10.1.0.1"}, reason: "port 0 is outside", ports: -1},
		{name: "endpoint with a zone", endpoint: &Endpoint{Service: "a.ns", Address: "fe80::1%eth0", Port: 80}, reason: "neither an IP address", ports: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			good := &Service{Hostname: "good.ns.svc.cluster.local", Ports: []Port{http("http", 80)}}
			in := Part{Services: []*Service{good}, Endpoints: []*Endpoint{{Service: good.Hostname, Address: "10.1.0.9", Port: 80}}}
			var before []Port
			if tc.service != nil {
				in.Services = append(in.Services, tc.service)
				before = append(before, tc.service.Ports...)
			}
			if tc.endpoint != nil {
				in.Endpoints = append(in.Endpoints, tc.endpoint)
			}
			out := CheckPart(in)
			switch {
			case tc.reason == "" && len(out.Rejections) > 0:
				t.Errorf("rejected: %+v", out.Rejections)
			case tc.reason != "" && (len(out.Rejections) != 1 || !strings.Contains(out.Rejections[0].Reason, tc.reason)):
				t.Errorf("want one rejection with %q, got %+v", tc.reason, out.Rejections)
			}
			ports := -1
			for _, s := range out.Services {
				if s != good {
					ports = len(s.Ports)
				}
			}
			if ports != tc.ports {
				t.Errorf("kept %d ports, want %d (-1: the service is left out)", ports, tc.ports)
			}
			if len(out.Endpoints) != 1+tc.endpoints || out.Services[0] != good {
				t.Errorf("got services %+v, endpoints %+v", out.Services, out.Endpoints)
			}
			if tc.service != nil && len(tc.service.Ports) != len(before) {
				t.Errorf("the source's service was modified")
			}
		})
	}
}
