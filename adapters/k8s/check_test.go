package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipilot/minipilot/model"
)

//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

func svcWith(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.9", Ports: ports}}
}

func sliceFor(svc string, ports []discoveryv1.EndpointPort, addrs ...string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "bad-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: addrs, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns"}, NodeName: ptr("n1")}},
	}
}

func slicePort(name string, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr(name), Port: ptr(port)}
}

var http80 = corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}

// TestCoreObjectsCheckedAsTheAPIServerWould: Services, EndpointSlices, Endpoints, Pods and Nodes the
// API server would refuse were converted as they were: port 70000 (or 0, or -80 wrapped to
// 4294967216) and names such as Bad_Name or ones with a newline reached the proxies, an address
// "not-an-ip" was sent to them, and one bad port withheld a whole service's endpoints. Now the bad
// object, or only the bad item in it, is left out with a rejection naming the field, and nothing
// else is touched: every case also holds a healthy service, whose endpoints must stay.
func TestCoreObjectsCheckedAsTheAPIServerWould(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct {
		name string
		objs Objects
		// The rejection: kind, object name and a piece of the reason.
		kind       model.Kind
		object     string
		reason     string
		ports      int // ports of Service "bad" kept; -1: the Service is left out
		endpoints  int // endpoints of bad.ns kept
		noLabels   bool
		noLocality bool
	}{
		{name: "service port above 65535", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "a", Port: 70000}, http80)}},
			kind: KindService, object: "bad", reason: "spec.ports[0].port: port 70000 is outside 1..65535; the port is left out", ports: 1},
		{name: "service port 0", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "a", Port: 0}, http80)}},
			kind: KindService, object: "bad", reason: "spec.ports[0].port: port 0 is outside", ports: 1},
		{name: "negative service port", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "a", Port: -80}, http80)}},
			kind: KindService, object: "bad", reason: "spec.ports[0].port: port -80 is outside", ports: 1},
		{name: "two ports with one number", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "http", Port: 9080}, corev1.ServicePort{Name: "http2", Port: 9080})}},
			kind: KindService, object: "bad", reason: "spec.ports[1]: Duplicate value: port 9080/TCP is also spec.ports[0]", ports: 1},
		{name: "one number on TCP and UDP", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "dns", Port: 53}, corev1.ServicePort{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP})}},
			ports: 2},
		{name: "two ports with one name", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "http", Port: 81})}},
			kind: KindService, object: "bad", reason: "spec.ports[1].name: Duplicate value", ports: 1},
		{name: "unnamed port among several", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Port: 81})}},
			kind: KindService, object: "bad", reason: "spec.ports[1].name: a Service with several ports must name each", ports: 1},
		{name: "bad port name", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "Web_UI", Port: 81})}},
			kind: KindService, object: "bad", reason: `spec.ports[1].name: "Web_UI" is not a valid port name`, ports: 1},
		{name: "target port above 65535", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "b", Port: 81, TargetPort: intstr.FromInt32(70000)})}},
			kind: KindService, object: "bad", reason: "spec.ports[1].targetPort: port 70000 is outside", ports: 1},
		{name: "bad named target port", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "b", Port: 81, TargetPort: intstr.FromString("no_such--port")})}},
			kind: KindService, object: "bad", reason: "spec.ports[1].targetPort", ports: 1},
		{name: "unknown L4 protocol", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "b", Port: 81, Protocol: "QUIC"})}},
			kind: KindService, object: "bad", reason: `spec.ports[1].protocol: "QUIC" is not TCP, UDP or SCTP`, ports: 1},
		{name: "service name not a DNS label", objs: Objects{Services: []*corev1.Service{svcWith("Bad_Name", http80)}},
			kind: KindService, object: "Bad_Name", reason: `the Service is left out: metadata.name: "Bad_Name" is not a valid Service name`, ports: -1},
		{name: "service name with a newline", objs: Objects{Services: []*corev1.Service{svcWith("bad\nname", http80)}},
			kind: KindService, object: "bad\nname", reason: `metadata.name: "bad\nname" is not a valid Service name`, ports: -1},
		{name: "service name of 300 characters", objs: Objects{Services: []*corev1.Service{svcWith(long, http80)}},
			kind: KindService, object: long, reason: "must be no more than 63 characters", ports: -1},
		{name: "service namespace not a DNS label", objs: Objects{Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "NS!"}}}},
			kind: KindService, object: "bad", reason: `metadata.namespace: "NS!" is not a valid namespace name`, ports: -1},
		{name: "cluster IP not an IP", objs: Objects{Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.300", Ports: []corev1.ServicePort{http80}}}}},
			kind: KindService, object: "bad", reason: `spec.clusterIP: "10.96.0.300" is not a valid IP address`, ports: -1},
		{name: "external name not a DNS name", objs: Objects{Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db example.com"}}}},
			kind: KindService, object: "bad", reason: `spec.externalName: "db example.com" is not a valid DNS name`, ports: -1},
		{name: "service label value", objs: Objects{Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns", Labels: map[string]string{"app": "a b"}}}}},
			kind: KindService, object: "bad", reason: `metadata.labels[app]: "a b" is not a valid label value`, ports: -1},

		{name: "slice address not an IP", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "not-an-ip", "10.1.9.1")}},
			kind: KindEndpointSlice, object: "bad-1", reason: `endpoints[0].addresses[0]: "not-an-ip" is not a valid IPv4 address; the address is left out`, ports: 1, endpoints: 1},
		{name: "IPv6 address in an IPv4 slice", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "fd00::1", "10.1.9.1")}},
			kind: KindEndpointSlice, object: "bad-1", reason: `endpoints[0].addresses[0]: "fd00::1" is not a valid IPv4 address`, ports: 1, endpoints: 1},
		{name: "slice port above 65535", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80, corev1.ServicePort{Name: "b", Port: 81})},
			EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080), slicePort("b", 70000)}, "10.1.9.1")}},
			kind: KindEndpointSlice, object: "bad-1", reason: "ports[1].port: port 70000 is outside 1..65535; the port is left out", ports: 2, endpoints: 1},
		{name: "slice port name", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080), slicePort("B_", 81)}, "10.1.9.1")}},
			kind: KindEndpointSlice, object: "bad-1", reason: `ports[1].name: "B_" is not a valid port name`, ports: 1, endpoints: 1},
		{name: "slice address type", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
			es := sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "10.1.9.1")
			es.AddressType = "IPv5"
			return es
		}()}},
			kind: KindEndpointSlice, object: "bad-1", reason: `the EndpointSlice is left out: addressType: "IPv5" is not IPv4, IPv6 or FQDN`, ports: 1},
		{name: "slice for a service name that cannot be", objs: Objects{EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad\nname", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "10.1.9.1")}},
			kind: KindEndpointSlice, object: "bad-1", reason: "metadata.labels[kubernetes.io/service-name]", ports: -1},
		{name: "slice zone", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
			es := sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "10.1.9.1")
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.1.9.2"}, Zone: ptr("eu/1")})
			return es
		}()}},
			kind: KindEndpointSlice, object: "bad-1", reason: `endpoints[1].zone: "eu/1" is not a valid zone`, ports: 1, endpoints: 1},

		{name: "Endpoints address not an IP", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "tcp", Port: 5432})}, Endpoints: []*corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.300"}, {IP: "192.0.2.1"}}, Ports: []corev1.EndpointPort{{Name: "tcp", Port: 5432}}}}}}},
			kind: KindEndpoints, object: "bad", reason: `subsets[0].addresses[0].ip: "192.0.2.300" is not a valid IP address; the address is left out`, ports: 1, endpoints: 1},
		{name: "Endpoints port 0", objs: Objects{Services: []*corev1.Service{svcWith("bad", corev1.ServicePort{Name: "tcp", Port: 5432})}, Endpoints: []*corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}, Ports: []corev1.EndpointPort{{Name: "tcp", Port: 5432}, {Name: "x", Port: 0}}}}}}},
			kind: KindEndpoints, object: "bad", reason: "subsets[0].ports[1].port: port 0 is outside", ports: 1, endpoints: 1},

		{name: "pod IP not an IP", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "10.1.9.1")},
			Pods: []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"version": "v1"}}, Status: corev1.PodStatus{PodIP: "ten"}}}},
			kind: KindPod, object: "p", reason: `the Pod is left out (the endpoints that refer to it get no labels): status.podIP: "ten"`, ports: 1, endpoints: 1, noLabels: true},
		{name: "node locality label", objs: Objects{Services: []*corev1.Service{svcWith("bad", http80)}, EndpointSlices: []*discoveryv1.EndpointSlice{sliceFor("bad", []discoveryv1.EndpointPort{slicePort("http", 8080)}, "10.1.9.1")},
			Nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelTopologyZone: "eu/1"}}}}},
			kind: KindNode, object: "n1", reason: `metadata.labels[topology.kubernetes.io/zone]: "eu/1" is not a valid label value`, ports: 1, endpoints: 1, noLocality: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := tc.objs
			objs.Services = append(objs.Services, svcWith("good", http80))
			objs.EndpointSlices = append(objs.EndpointSlices, &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: "good-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "good"}},
				AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{slicePort("http", 8080)},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}}},
			})
			part := objs.Part(opts)

			if tc.reason == "" && len(part.Rejections) > 0 {
				t.Errorf("valid objects rejected: %v", part.Rejections)
			}
			if tc.reason != "" && !hasRejection(part.Rejections, tc.kind, tc.object, tc.reason) {
				t.Errorf("want a rejection of %s ns/%q with %q, got %+v", tc.kind, tc.object, tc.reason, part.Rejections)
			}
			ports := -1
			for _, s := range part.Services {
				if s.Name == "bad" {
					ports = len(s.Ports)
				}
			}
			if ports != tc.ports {
				t.Errorf("Service bad has %d ports, want %d (-1: left out)", ports, tc.ports)
			}
			var good, bad []*model.Endpoint
			for _, ep := range part.Endpoints {
				switch ep.Service {
				case "good.ns.svc.cluster.local":
					good = append(good, ep)
				case "bad.ns.svc.cluster.local":
					bad = append(bad, ep)
				}
			}
			if len(good) != 1 || len(part.Services) == 0 || part.Services[len(part.Services)-1].Name != "good" {
				t.Errorf("the healthy service lost something: services %v, endpoints %v", part.Services, good)
			}
			if len(bad) != tc.endpoints {
				t.Errorf("bad.ns has %d endpoints, want %d: %+v", len(bad), tc.endpoints, bad)
			}
			for _, ep := range bad {
				if tc.noLabels && ep.Labels != nil || tc.noLocality && !ep.Locality.IsZero() {
					t.Errorf("labels or locality from a refused object: %+v", ep)
				}
			}
		})
	}
}

func hasRejection(rs []model.Rejection, kind model.Kind, name, reason string) bool {
	for _, r := range rs {
		if r.Kind == kind && r.Name == name && strings.Contains(r.Reason, reason) {
			return true
		}
	}
	return false
}

// TestConversionPanicIsContained: an object whose conversion panics is left out with a rejection
// that names it, and the others are converted. The crasher is injected into guard, which every
// object's conversion in Part runs in.
func TestConversionPanicIsContained(t *testing.T) {
	c := &converter{opts: opts}
	svc := svcWith("crasher", http80)
	c.guard(KindService, svc, func() { panic("boom") })
	c.guard(KindService, svcWith("fine", http80), func() {
		s, _ := Service(svcWith("fine", http80), opts)
		c.part.Services = append(c.part.Services, s)
	})
	if len(c.part.Services) != 1 || c.part.Services[0].Name != "fine" {
		t.Errorf("the object after the crasher was not converted: %+v", c.part.Services)
	}
	if !hasRejection(c.part.Rejections, KindService, "crasher", "panic: boom; the Service is left out") {
		t.Errorf("no rejection for the crasher: %+v", c.part.Rejections)
	}
	// Nil entries in the lists name nothing and are skipped rather than dereferenced.
	part := Objects{Services: []*corev1.Service{nil}, EndpointSlices: []*discoveryv1.EndpointSlice{nil},
		Endpoints: []*corev1.Endpoints{nil}, Pods: []*corev1.Pod{nil}, Nodes: []*corev1.Node{nil}}.Part(opts)
	if len(part.Services)+len(part.Endpoints)+len(part.Rejections) != 0 {
		t.Errorf("nil objects made %+v", part)
	}
}
