package model

import (
	"fmt"
	"strings"
)

// ProxyType is the role a proxy plays.
type ProxyType string

const (
	// Sidecar proxies sit beside a workload and get outbound (and inbound) config.
	Sidecar ProxyType = "sidecar"
	// Router proxies are gateways: they get config for the Gateway resources that select them.
	Router ProxyType = "router"
)

// Proxy is a connected xDS client as the translator sees it.
type Proxy struct {
	// ID is the xDS node ID.
	ID   string    `json:"id"`
	Type ProxyType `json:"type"`
	// IPAddress is the workload's IP, from the node ID.
	IPAddress string `json:"ipAddress"`
	// Workload is "pod.namespace" or whatever stands in its place in the node ID.
	Workload  string `json:"workload"`
	Namespace string `json:"namespace"`
	// DNSDomain is the proxy's search domain ("<ns>.svc.cluster.local").
	DNSDomain string            `json:"dnsDomain"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Proxyless is true for gRPC clients, which ask for listeners by name and get API listeners.
	Proxyless bool `json:"proxyless,omitempty"`
	// InterceptionMode is how traffic reaches a sidecar: "REDIRECT" (iptables, the default: listeners
	// do not bind and a virtual listener on 15001 dispatches by original destination) or "NONE" (no
	// iptables: every outbound listener binds its port, so applications call it directly).
	InterceptionMode string `json:"interceptionMode,omitempty"`
	// Locality is where the proxy runs, from the xDS node's locality; locality load balancing
	// prefers endpoints near it.
	Locality Locality `json:"locality,omitempty"`
	// ClientName and ClientVersion are the xDS client's implementation and version as its node says
	// (user_agent_name, user_agent_version): grpc-go sends "gRPC Go" and "1.85.0", gRPC's C core
	// under Python "gRPC C-core linux Python" and "C-core 29.0.0 Python 1.51.1". gRPC implementations
	// and versions accept different forms of the same config.
	ClientName    string `json:"clientName,omitempty"`
	ClientVersion string `json:"clientVersion,omitempty"`
	// ClientFeatures are the xDS client features the node announces (client_features).
	ClientFeatures []string `json:"clientFeatures,omitempty"`
	// IstioVersion is the Istio release of an Istio sidecar (node metadata ISTIO_VERSION), for metrics.
	IstioVersion string `json:"istioVersion,omitempty"`
	// ClusterID is the cluster an Istio sidecar says it runs in (node metadata CLUSTER_ID).
	ClusterID string `json:"clusterID,omitempty"`
}

// Interception modes.
const (
	InterceptionRedirect = "REDIRECT"
	InterceptionNone     = "NONE"
)

// ParseNodeID reads an Istio node ID, "<type>~<ip>~<pod>.<ns>~<ns>.svc.<domain>", as Envoy sidecars and
// Istio's proxyless gRPC bootstrap write it.
func ParseNodeID(id string) (*Proxy, error) {
	parts := strings.Split(id, "~")
	if len(parts) != 4 {
		return nil, fmt.Errorf("node ID %q: want 4 fields <type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>, got %d", id, len(parts))
	}
	p := &Proxy{ID: id, Type: ProxyType(parts[0]), IPAddress: parts[1], Workload: parts[2], DNSDomain: parts[3]}
	switch p.Type {
	case Sidecar, Router:
	default:
		return nil, fmt.Errorf("node ID %q: unknown proxy type %q (want %q or %q)", id, parts[0], Sidecar, Router)
	}
	if p.IPAddress == "" {
		return nil, fmt.Errorf("node ID %q: the IP address field is empty", id)
	}
	p.Namespace, _, _ = strings.Cut(p.DNSDomain, ".")
	if _, ns, ok := strings.Cut(p.Workload, "."); ok && p.Namespace == "" {
		p.Namespace = ns
	}
	if p.Namespace == "" {
		return nil, fmt.Errorf("node ID %q: no namespace in the DNS domain field %q", id, p.DNSDomain)
	}
	return p, nil
}
