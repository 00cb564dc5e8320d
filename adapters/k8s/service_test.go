package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipilot/minipilot/model"
)

//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

var opts = Options{DomainSuffix: "cluster.local", Cluster: "c1"}

func ptr[T any](v T) *T { return &v }

func TestServicePortProtocol(t *testing.T) {
	cases := []struct {
		name string
		port corev1.ServicePort
		want model.Protocol
	}{
		{"appProtocol wins over the name", corev1.ServicePort{Name: "tcp-x", AppProtocol: ptr("http"), Port: 80}, model.ProtocolHTTP},
		{"Kubernetes h2c appProtocol", corev1.ServicePort{AppProtocol: ptr("kubernetes.io/h2c"), Port: 80}, model.ProtocolHTTP2},
		{"name prefix http", corev1.ServicePort{Name: "http-web", Port: 80}, model.ProtocolHTTP},
		{"name grpc", corev1.ServicePort{Name: "grpc", Port: 80}, model.ProtocolGRPC},
		{"name prefix grpc-web", corev1.ServicePort{Name: "grpc-web", Port: 80}, model.ProtocolGRPCWeb},
		{"name http2", corev1.ServicePort{Name: "http2-api", Port: 80}, model.ProtocolHTTP2},
		{"name tls", corev1.ServicePort{Name: "tls-db", Port: 80}, model.ProtocolTLS},
		{"unnamed is detected", corev1.ServicePort{Port: 80}, model.ProtocolUnsupported},
		{"unknown prefix is detected", corev1.ServicePort{Name: "metrics", Port: 80}, model.ProtocolUnsupported},
		{"unnamed on MySQL's port is TCP", corev1.ServicePort{Port: 3306}, model.ProtocolTCP},
		{"an unknown appProtocol wins over the name, as in Istio", corev1.ServicePort{Name: "http", AppProtocol: ptr("foo.io/bar"), Port: 80}, model.ProtocolUnsupported},
		{"UDP", corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}, model.ProtocolUDP},
		// Port names are lowercase (DNS labels), but appProtocol may be written in any case.
		{"case-insensitive", corev1.ServicePort{Name: "x", AppProtocol: ptr("HTTP"), Port: 80}, model.ProtocolHTTP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, problems := Service(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
				Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{tc.port}}}, opts)
			if len(problems) > 0 {
				t.Fatalf("problems with a valid Service: %v", problems)
			}
			if got := svc.Ports[0].Protocol; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestServiceKinds(t *testing.T) {
	cases := []struct {
		name       string
		spec       corev1.ServiceSpec
		resolution model.Resolution
		address    string
		external   string
	}{
		{"ClusterIP", corev1.ServiceSpec{ClusterIP: "10.96.0.1"}, model.ClientSideLB, "10.96.0.1", ""},
		{"headless", corev1.ServiceSpec{ClusterIP: "None"}, model.Passthrough, "", ""},
		{"ExternalName", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}, model.DNSLB, "", "db.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}
			svc, problems := Service(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns",
				Annotations: map[string]string{"networking.istio.io/exportTo": "., istio-system"}}, Spec: tc.spec}, opts)
			if len(problems) > 0 {
				t.Fatalf("problems with a valid Service: %v", problems)
			}
			if svc.Hostname != "s.ns.svc.cluster.local" || svc.Resolution != tc.resolution || svc.Address != tc.address || svc.ExternalName != tc.external {
				t.Errorf("got %+v", svc)
			}
			if svc.Ports[0].TargetPort != 8080 || len(svc.Clusters) != 1 || svc.Clusters[0] != "c1" {
				t.Errorf("target port and cluster: %+v", svc)
			}
			if len(svc.ExportTo) != 2 || svc.ExportTo[1] != "istio-system" {
				t.Errorf("exportTo annotation: %v", svc.ExportTo)
			}
		})
	}
}

func TestEndpointSources(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"version": "v1"}}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
		corev1.LabelTopologyRegion: "eu", corev1.LabelTopologyZone: "eu-1"}}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "s-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "s"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.1.0.1"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns"}, NodeName: ptr("n1")},
			{Addresses: []string{"10.1.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}, Zone: ptr("eu-2")},
		},
	}
	// A selector-less Service with hand-written Endpoints, and one with both (slices win).
	external := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}}, Ports: []corev1.EndpointPort{{Name: "tcp", Port: 5432}}}}}
	shadowed := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.9.9.9"}}, Ports: []corev1.EndpointPort{{Name: "http", Port: 8080}}}}}

	part := Objects{EndpointSlices: []*discoveryv1.EndpointSlice{slice}, Endpoints: []*corev1.Endpoints{external, shadowed},
		Pods: []*corev1.Pod{pod}, Nodes: []*corev1.Node{node}}.Part(opts)
	if len(part.Rejections) > 0 {
		t.Errorf("valid objects rejected: %v", part.Rejections)
	}
	if len(part.Endpoints) != 3 {
		t.Fatalf("want 2 endpoints from the slice and 1 from the selector-less Endpoints, got %d: %+v", len(part.Endpoints), part.Endpoints)
	}
	first, second, ext := part.Endpoints[0], part.Endpoints[1], part.Endpoints[2]
	if first.Labels["version"] != "v1" || !first.Ready || first.Locality != (model.Locality{Region: "eu", Zone: "eu-1"}) ||
		first.Workload != "p.ns" || first.Cluster != "c1" || first.ServicePort != "http" || first.Port != 8080 {
		t.Errorf("endpoint from a Pod on a Node: %+v", first)
	}
	if second.Ready || second.Locality.Zone != "eu-2" {
		t.Errorf("not-ready endpoint with a zone: %+v", second)
	}
	if ext.Service != "ext.ns.svc.cluster.local" || ext.Address != "192.0.2.10" || ext.Port != 5432 {
		t.Errorf("endpoint from v1 Endpoints: %+v", ext)
	}
}
