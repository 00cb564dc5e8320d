package k8s

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/minipilot/minipilot/model"
)

// FuzzObjectsPart decodes arbitrary JSON as a Service and an EndpointSlice, strictly as the file
// adapter does, and converts them. Nothing may panic (a panic Part contains shows as a rejection
// that says it is a bug), and whatever is accepted must be usable: every service a DNS hostname
// with ports in 1..65535, once each per transport; every endpoint a valid IP and port. The corpus
// (testdata/fuzz/FuzzObjectsPart) holds the cases of issue 12: ports 70000, 0 and -80, names
// Bad_Name, with a newline and of 300 characters, an address "not-an-ip", a slice port 70000.
func FuzzObjectsPart(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"reviews","namespace":"default"},"spec":{"clusterIP":"10.96.0.1","ports":[{"name":"http","port":9080}]}}`),
		[]byte(`{"metadata":{"name":"reviews-1","namespace":"default","labels":{"kubernetes.io/service-name":"reviews"}},"addressType":"IPv4","ports":[{"name":"http","port":9080}],"endpoints":[{"addresses":["10.1.0.1"]}]}`))
	f.Fuzz(func(t *testing.T, service, slice []byte) {
		var objs Objects
		svc := &corev1.Service{}
		if DecodeStrict(service, svc, "") == nil {
			objs.Services = append(objs.Services, svc)
		}
		es := &discoveryv1.EndpointSlice{}
		if DecodeStrict(slice, es, "") == nil {
			objs.EndpointSlices = append(objs.EndpointSlices, es)
		}
		part := objs.Part(opts)
		for _, r := range part.Rejections {
			if strings.Contains(r.Reason, "bug in minipilot") {
				t.Errorf("conversion panicked: %s", r.Reason)
			}
		}
		for _, s := range part.Services {
			if err := usableService(s); err != nil {
				t.Errorf("accepted service %q: %v", s.Hostname, err)
			}
		}
		for _, ep := range part.Endpoints {
			if a, err := netip.ParseAddr(ep.Address); err != nil || a.Zone() != "" || ep.Port < 1 || ep.Port > 65535 {
				t.Errorf("accepted endpoint %s:%d of %s", ep.Address, ep.Port, ep.Service)
			}
		}
	})
}

func usableService(s *model.Service) error {
	if !model.IsDNSName(s.Hostname, false) {
		return fmt.Errorf("hostname is not a DNS name")
	}
	seen := map[string]bool{}
	for _, p := range s.Ports {
		transport := "TCP"
		if p.Protocol == model.ProtocolUDP {
			transport = "UDP"
		}
		key := fmt.Sprintf("%d/%s", p.Port, transport)
		if p.Port < 1 || p.Port > 65535 || p.TargetPort > 65535 || seen[key] {
			return fmt.Errorf("port %+v", p)
		}
		seen[key] = true
	}
	return nil
}
