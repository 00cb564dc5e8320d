package model

import (
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
)

func serviceEntry(t *testing.T, ns, spec string) *ServiceEntry {
	t.Helper()
	var s networking.ServiceEntry
	if err := yaml.UnmarshalStrict([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	return &ServiceEntry{Meta: Meta{Kind: KindServiceEntry, Name: "se", Namespace: ns}, Spec: &s}
}

func TestServiceEntryResolutions(t *testing.T) {
	for _, tc := range []struct {
		resolution string
		want       Resolution
		endpoints  int
	}{
		{"", Passthrough, 0}, {"NONE", Passthrough, 0}, {"STATIC", ClientSideLB, 1},
		{"DNS", DNSLB, 1}, {"DNS_ROUND_ROBIN", DNSRoundRobinLB, 1},
	} {
		spec := "hosts: [api.example.com]\nports: [{number: 443, name: tls, protocol: TLS}]\nresolution: '" + tc.resolution + "'\n"
		if tc.resolution == "STATIC" {
			spec += "endpoints: [{address: 10.0.0.1}]\n"
		}
		svcs, eps := ServiceEntryServices(serviceEntry(t, "ns", spec), "cluster.local")
		if len(svcs) != 1 || svcs[0].Resolution != tc.want || len(eps) != tc.endpoints {
			t.Errorf("%q: got %v with %d endpoints", tc.resolution, svcs[0].Resolution, len(eps))
		}
		if svcs[0].Hostname != "api.example.com" || !svcs[0].MeshExternal {
			t.Errorf("%q: a dotted host is kept as written and external by default, got %+v", tc.resolution, svcs[0])
		}
	}
}

func TestServiceEntryFields(t *testing.T) {
	se := serviceEntry(t, "ns", `hosts: [db, db.example.com]
addresses: [10.9.0.0/16, 240.0.0.5]
location: MESH_INTERNAL
resolution: DNS
ports: [{number: 5432, name: pg, protocol: TLS, targetPort: 6432}]
endpoints: [{address: db1.example.com, locality: eu/z1, weight: 3, labels: {role: primary}}, {address: db2.example.com, ports: {pg: 7000}}]
subjectAltNames: [db.example.com]
exportTo: ["."]`)
	svcs, eps := ServiceEntryServices(se, "cluster.local")
	if svcs[0].Hostname != "db" || svcs[1].Hostname != "db.example.com" {
		t.Errorf("hosts are kept as written, as Istio's convertServices does: got %s, %s", svcs[0].Hostname, svcs[1].Hostname)
	}
	s := svcs[1]
	if s.Address != "240.0.0.5" || len(s.Addresses) != 2 || s.MeshExternal || s.ExportTo[0] != "." || s.SubjectAltNames[0] != "db.example.com" {
		t.Errorf("service fields: %+v", s)
	}
	if len(eps) != 4 {
		t.Fatalf("two endpoints per host, got %d", len(eps))
	}
	e1, e2 := eps[2], eps[3]
	if e1.Port != 6432 || e1.Weight != 3 || e1.Locality.Zone != "z1" || e1.Labels["role"] != "primary" || e2.Port != 7000 {
		t.Errorf("endpoint fields: %+v %+v", e1, e2)
	}
}

// TestServiceEntryWorkloadSelector: the selector picks platform workloads of its own namespace by
// labels, each once, at the entry's ports.
func TestServiceEntryWorkloadSelector(t *testing.T) {
	se := serviceEntry(t, "apps", "hosts: [vm.internal]\nresolution: STATIC\nlocation: MESH_INTERNAL\nports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]\nworkloadSelector: {labels: {app: vm}}")
	svc := func(name, ns string) *Service {
		return &Service{Hostname: name + "." + ns + ".svc.cluster.local", Name: name, Namespace: ns,
			Ports: []Port{{Name: "http", Port: 80}, {Name: "grpc", Port: 90}}}
	}
	ep := func(svc, ns, addr, app, port string) *Endpoint {
		return &Endpoint{Service: svc + "." + ns + ".svc.cluster.local", ServicePort: port, Address: addr, Port: 1, Ready: true, Labels: map[string]string{"app": app}}
	}
	snap := NewSnapshot("cluster.local", 1, time.Time{}, Part{
		Services: []*Service{svc("a", "apps"), svc("b", "other")},
		Endpoints: []*Endpoint{
			ep("a", "apps", "10.0.0.1", "vm", "http"), ep("a", "apps", "10.0.0.1", "vm", "grpc"), // one workload, two ports
			ep("a", "apps", "10.0.0.2", "web", "http"), // other labels
			ep("b", "other", "10.0.0.3", "vm", "http"), // other namespace
		},
		ServiceEntries: []*ServiceEntry{se},
	})
	got := snap.Endpoints("vm.internal", Port{Name: "http"})
	if len(got) != 1 || got[0].Address != "10.0.0.1" || got[0].Port != 8080 || !got[0].Ready {
		t.Fatalf("want the one vm workload of namespace apps at 8080, got %+v", got)
	}
}

func TestResolveHost(t *testing.T) {
	snap := NewSnapshot("cluster.local", 1, time.Time{}, Part{ServiceEntries: []*ServiceEntry{
		serviceEntry(t, "ns", "hosts: [example.com]\nports: [{number: 80, name: http, protocol: HTTP}]")}})
	if got := snap.ResolveHost("example.com", "ns"); got != "example.com" {
		t.Errorf("a ServiceEntry host wins over the name.namespace reading: got %s", got)
	}
	if got := snap.ResolveHost("reviews", "ns"); got != "reviews.ns.svc.cluster.local" {
		t.Errorf("got %s", got)
	}
	if got := snap.ResolveHost("reviews.prod", "ns"); got != "reviews.prod" {
		t.Errorf("name.namespace stays as written, as Istio's ResolveShortnameToFQDN: got %s", got)
	}
}

// TestDestinationRuleMergeAndSelector: rules for one host in one namespace merge as in Istio, and a
// rule with a workloadSelector applies only to the workloads it selects, over the others.
func TestDestinationRuleMergeAndSelector(t *testing.T) {
	svc := &Service{Hostname: "r.prod.svc.cluster.local", Name: "r", Namespace: "prod"}
	dr := func(name string, age time.Duration, spec string) *DestinationRule {
		var s networking.DestinationRule
		if err := yaml.UnmarshalStrict([]byte(spec), &s); err != nil {
			t.Fatal(err)
		}
		return &DestinationRule{Meta: Meta{Kind: KindDestinationRule, Name: name, Namespace: "prod", CreationTimestamp: time.Unix(1000, 0).Add(-age)}, Spec: &s}
	}
	snap := NewSnapshot("cluster.local", 1, time.Time{}, Part{Services: []*Service{svc}, DestinationRules: []*DestinationRule{
		dr("old", 2*time.Hour, "host: r\nsubsets: [{name: v1, labels: {v: '1'}}]"),
		dr("new", time.Hour, "host: r\ntrafficPolicy: {loadBalancer: {simple: RANDOM}}\nsubsets: [{name: v1, labels: {v: x}}, {name: v2, labels: {v: '2'}}]"),
		dr("canary", time.Minute, "host: r\nworkloadSelector: {matchLabels: {app: canary}}\ntrafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}"),
	}})
	got := snap.DestinationRuleForWorkload("prod", map[string]string{"app": "web"}, svc)
	if got.Name != "old" || len(got.Spec.Subsets) != 2 || got.Spec.Subsets[0].Labels["v"] != "1" || got.Spec.TrafficPolicy.LoadBalancer.Simple != "RANDOM" {
		t.Errorf("merged rule: want old's v1, new's v2 and new's policy, got %s %+v", got.Name, got.Spec)
	}
	if got := snap.DestinationRuleForWorkload("prod", map[string]string{"app": "canary"}, svc); got.Name != "canary" {
		t.Errorf("a selected workload gets the selector's rule, got %s", got.Name)
	}
	merges := MergeDestinationRules(snap.DestinationRules, snap.ResolveHost)
	if len(merges) != 2 || len(merges[0].Notes) != 2 {
		t.Errorf("want one merge with a note for the duplicate subset, got %+v", merges)
	}
}
