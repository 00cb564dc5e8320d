package modeltest

import (
	"fmt"
	"sort"
)

// Rules says which services of a generated mesh get routing rules.
type Rules string

const (
	// RulesEach gives every service a DestinationRule and a VirtualService, as Mesh does.
	RulesEach Rules = "each"
	// RulesOne gives the first service (svc-0) the only DestinationRule and VirtualService.
	RulesOne Rules = "one"
	// RulesNone writes no routing rules.
	RulesNone Rules = "none"
)

// Addresses the generated objects use, apart from each other so that a marker (an endpoint address)
// names one thing: endpoints of mesh services are 10.<1+i/250>.<i%250>.<j>, those of services added
// by a scenario 10.254.<k>.<j>, and the flapping endpoint 10.255.0.1. Load tools give their
// sidecars addresses in 172.16.0.0/12.
const (
	// FlapIP is the endpoint a scenario adds to and removes from a service.
	FlapIP = "10.255.0.1"
	// Port is every generated service's one (HTTP) port.
	Port = 8080
	// maxEndpoints keeps the last octet of an endpoint address below 251.
	maxEndpoints = 250
	// maxServices keeps mesh endpoint addresses below 10.254.
	maxServices = 250 * 252
)

// MeshSpec describes a generated mesh of Kubernetes-style objects: HTTP services svc-<i> spread over
// namespaces ns-<i % Namespaces>, each with one EndpointSlice of Endpoints endpoints whose Pods carry
// app and version (v1, v2 alternately) labels, and routing rules as Rules says: a DestinationRule with
// subsets v1 and v2 and a connection pool, a VirtualService with a header match and a 90/10 split
// with a timeout. With RulesEach and 10 namespaces it is the mesh Mesh builds, as manifests (an
// endpoint's labels come from its Pod, its zone from the slice; Mesh also gives it a region).
type MeshSpec struct {
	Services   int
	Endpoints  int // per service
	Namespaces int // 0 means 10
	Rules      Rules
}

// Check says whether the spec can be generated.
func (s MeshSpec) Check() error {
	switch {
	case s.Services < 1 || s.Services > maxServices:
		return fmt.Errorf("services: %d is not within 1..%d", s.Services, maxServices)
	case s.Endpoints < 0 || s.Endpoints > maxEndpoints:
		return fmt.Errorf("endpoints: %d is not within 0..%d", s.Endpoints, maxEndpoints)
	case s.Namespaces < 0:
		return fmt.Errorf("namespaces: %d is negative", s.Namespaces)
	}
	switch s.Rules {
	case RulesEach, RulesOne, RulesNone, "":
		return nil
	}
	return fmt.Errorf("rules: %q is not %q, %q or %q", s.Rules, RulesEach, RulesOne, RulesNone)
}

func (s MeshSpec) namespaces() int {
	if s.Namespaces == 0 {
		return 10
	}
	return s.Namespaces
}

// ServiceName and ServiceNamespace name the i-th service of the mesh.
func (s MeshSpec) ServiceName(i int) string { return fmt.Sprintf("svc-%d", i) }

// ServiceNamespace is the namespace of the i-th service.
func (s MeshSpec) ServiceNamespace(i int) string { return fmt.Sprintf("ns-%d", i%s.namespaces()) }

// Host is the i-th service's fully qualified name.
func (s MeshSpec) Host(i int) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", s.ServiceName(i), s.ServiceNamespace(i))
}

// HasRules says whether the i-th service has a DestinationRule and a VirtualService.
func (s MeshSpec) HasRules(i int) bool {
	switch s.Rules {
	case RulesEach, "":
		return true
	case RulesOne:
		return i == 0
	}
	return false
}

// NamespaceNames lists the namespaces the mesh uses, sorted.
func (s MeshSpec) NamespaceNames() []string {
	var out []string
	for i := range min(s.namespaces(), s.Services) {
		out = append(out, fmt.Sprintf("ns-%d", i))
	}
	sort.Strings(out)
	return out
}

// Objects is the whole mesh, in a deterministic order (by service, then group, then as written).
func (s MeshSpec) Objects() []Object {
	var out []Object
	for i := range s.Services {
		out = append(out, s.ServiceObjects(i)...)
		if s.HasRules(i) {
			out = append(out, s.DestinationRule(i), s.VirtualService(i, 90))
		}
	}
	return out
}

// Workload is one endpoint of a service: a Pod with an address.
type Workload struct {
	Name, IP, Version string
}

// Workloads are the i-th service's generated endpoints.
func (s MeshSpec) Workloads(i int) []Workload {
	out := make([]Workload, s.Endpoints)
	for j := range out {
		out[j] = Workload{Name: fmt.Sprintf("%s-%d", s.ServiceName(i), j), IP: fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j),
			Version: fmt.Sprintf("v%d", 1+j%2)}
	}
	return out
}

// FlapWorkload is the endpoint a scenario adds to and removes from the i-th service.
func (s MeshSpec) FlapWorkload(i int) Workload {
	return Workload{Name: s.ServiceName(i) + "-flap", IP: FlapIP, Version: "v1"}
}

// ServiceObjects is the i-th service with its EndpointSlice and Pods: its generated workloads and any
// extra ones.
func (s MeshSpec) ServiceObjects(i int, extra ...Workload) []Object {
	return serviceObjects(s.ServiceName(i), s.ServiceNamespace(i), fmt.Sprintf("10.96.%d.%d", i/250, i%250),
		append(s.Workloads(i), extra...))
}

// AddedName is the name of the k-th service a scenario adds (in ns-0).
func (s MeshSpec) AddedName(k int) string { return fmt.Sprintf("added-%d", k) }

// AddedHost is the k-th added service's fully qualified name.
func (s MeshSpec) AddedHost(k int) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", s.AddedName(k), s.ServiceNamespace(0))
}

// AddedService is the k-th service a scenario adds: like a mesh service, with at least one endpoint,
// in ns-0, its addresses in 10.254.0.0/16, apart from the mesh's.
func (s MeshSpec) AddedService(k int) []Object {
	name := s.AddedName(k)
	var ws []Workload
	for j := range max(1, s.Endpoints) {
		ws = append(ws, Workload{Name: fmt.Sprintf("%s-%d", name, j), IP: s.AddedIP(k, j), Version: fmt.Sprintf("v%d", 1+j%2)})
	}
	return serviceObjects(name, s.ServiceNamespace(0), fmt.Sprintf("10.97.%d.%d", k/250, k%250), ws)
}

// AddedIP is the address of the j-th endpoint of the k-th added service (k < MaxAdded).
func (s MeshSpec) AddedIP(k, j int) string { return fmt.Sprintf("10.254.%d.%d", k, j) }

// MaxAdded bounds how many services a scenario adds, so that their addresses stay in 10.254.0.0/16.
const MaxAdded = 250

func serviceObjects(name, ns, clusterIP string, ws []Workload) []Object {
	group := name + "." + ns
	out := []Object{{Group: group, Doc: manifest("v1", "Service", ns, name, nil, map[string]any{
		"spec": map[string]any{"clusterIP": clusterIP, "ports": []any{map[string]any{"name": "http", "port": Port}}},
	})}}
	var endpoints []any
	for j, w := range ws {
		endpoints = append(endpoints, map[string]any{
			"addresses":  []any{w.IP},
			"conditions": map[string]any{"ready": true},
			"zone":       fmt.Sprintf("eu-%d", j%3),
			"targetRef":  map[string]any{"kind": "Pod", "name": w.Name, "namespace": ns},
		})
	}
	out = append(out, Object{Group: group, Doc: manifest("discovery.k8s.io/v1", "EndpointSlice", ns, name,
		map[string]string{"kubernetes.io/service-name": name}, map[string]any{
			"addressType": "IPv4",
			"ports":       []any{map[string]any{"name": "http", "port": Port}},
			"endpoints":   endpoints,
		})})
	for _, w := range ws {
		out = append(out, Object{Group: group, Doc: manifest("v1", "Pod", ns, w.Name,
			map[string]string{"app": name, "version": w.Version}, map[string]any{
				// A scheduler of that name does not exist: in a real cluster the Pod is never scheduled, so no
				// kubelet runs it or rewrites the status written here (and the pod GC leaves it alone).
				"spec": map[string]any{"schedulerName": "xds-load", "containers": []any{map[string]any{"name": "app", "image": "registry.k8s.io/pause:3.10"}}},
				"status": map[string]any{"phase": "Running", "podIP": w.IP, "podIPs": []any{map[string]any{"ip": w.IP}},
					"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
			})})
	}
	return out
}

// DestinationRule is the i-th service's: subsets v1 and v2, a connection pool.
func (s MeshSpec) DestinationRule(i int) Object {
	name, ns := s.ServiceName(i), s.ServiceNamespace(i)
	return Object{Group: name + "." + ns + ".rules", Doc: manifest("networking.istio.io/v1", "DestinationRule", ns, name, nil, map[string]any{
		"spec": map[string]any{
			"host":          name,
			"trafficPolicy": map[string]any{"connectionPool": map[string]any{"http": map[string]any{"http2MaxRequests": 1000}}},
			"subsets": []any{
				map[string]any{"name": "v1", "labels": map[string]any{"version": "v1"}},
				map[string]any{"name": "v2", "labels": map[string]any{"version": "v2"}},
			},
		},
	})}
}

// VirtualService is the i-th service's: requests with end-user jason go to v2, the rest weightV1
// percent to v1 and the others to v2, with a timeout.
func (s MeshSpec) VirtualService(i, weightV1 int) Object {
	name, ns := s.ServiceName(i), s.ServiceNamespace(i)
	dest := func(subset string, weight int) map[string]any {
		return map[string]any{"destination": map[string]any{"host": name, "subset": subset}, "weight": weight}
	}
	return Object{Group: name + "." + ns + ".rules", Doc: manifest("networking.istio.io/v1", "VirtualService", ns, name, nil, map[string]any{
		"spec": map[string]any{
			"hosts": []any{name},
			"http": []any{
				map[string]any{
					"match": []any{map[string]any{"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}}}},
					"route": []any{map[string]any{"destination": map[string]any{"host": name, "subset": "v2"}}},
				},
				map[string]any{"route": []any{dest("v1", weightV1), dest("v2", 100-weightV1)}, "timeout": "2s"},
			},
		},
	})}
}
