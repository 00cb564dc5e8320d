package load

import (
	"fmt"
	"hash/fnv"
)

// FleetSpec says how the simulated sidecars spread: over namespaces and label sets. The pods of one
// label set behave like the replicas of one Deployment: the same app, version and pod-template-hash
// labels, one namespace, names <app>-<hash>-<suffix>.
type FleetSpec struct {
	Proxies    int
	Namespaces int // label set j runs in ns-<j % Namespaces>
	LabelSets  int // proxy i belongs to label set i % LabelSets
	// Metadata is added to every node's metadata (an istiod may want ISTIO_VERSION, for example).
	Metadata map[string]string
}

// Check says whether the spec describes a fleet.
func (s FleetSpec) Check() error {
	switch {
	case s.Proxies < 1 || s.Proxies > 1<<20:
		return fmt.Errorf("proxies: %d is not within 1..%d", s.Proxies, 1<<20)
	case s.Namespaces < 1:
		return fmt.Errorf("namespaces: %d, want at least 1", s.Namespaces)
	case s.LabelSets < 1:
		return fmt.Errorf("label sets: %d, want at least 1", s.LabelSets)
	}
	return nil
}

// Proxy is one simulated sidecar's identity.
type Proxy struct {
	ID        string // Istio's node ID: sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local
	IP        string
	Pod       string
	Namespace string
	Workload  string // the Deployment
	Labels    map[string]string
}

// Proxy returns the i-th sidecar. Addresses come from 172.16.0.0/12, apart from the generated
// mesh's services and endpoints.
func (s FleetSpec) Proxy(i int) Proxy {
	set := i % s.LabelSets
	ns := fmt.Sprintf("ns-%d", set%s.Namespaces)
	app := fmt.Sprintf("load-%d", set)
	hash := kubeSuffix(app, 10)
	pod := fmt.Sprintf("%s-%s-%s", app, hash, kubeSuffix(fmt.Sprint(i), 5))
	ip := fmt.Sprintf("172.%d.%d.%d", 16+(i>>16), (i>>8)&0xff, i&0xff)
	return Proxy{
		ID: fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", ip, pod, ns, ns), IP: ip, Pod: pod, Namespace: ns, Workload: app,
		Labels: map[string]string{"app": app, "version": "v1", "pod-template-hash": hash},
	}
}

// Metadata is the node metadata Istio's sidecars send that a control plane reads: the pod's labels,
// namespace and name, its workload, interception mode and cluster, and the fleet's extra entries.
func (p Proxy) Metadata(extra map[string]string) map[string]any {
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	md := map[string]any{
		"LABELS": labels, "NAMESPACE": p.Namespace, "NAME": p.Pod, "WORKLOAD_NAME": p.Workload,
		"INTERCEPTION_MODE": "REDIRECT", "CLUSTER_ID": "Kubernetes",
	}
	for k, v := range extra {
		md[k] = v
	}
	return md
}

// kubeSuffix is a deterministic stand-in for the random suffixes Kubernetes gives ReplicaSets and
// Pods (n ≤ 13 characters of the alphabet it uses).
func kubeSuffix(seed string, n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := fnv.New64a()
	_, _ = h.Write([]byte(seed))
	v := h.Sum64()
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[v%uint64(len(alphabet))]
		v /= uint64(len(alphabet))
	}
	return string(out)
}
