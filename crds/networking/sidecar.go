package networking

// Sidecar is the spec of a networking.istio.io Sidecar: what the sidecars (and proxyless gRPC
// clients) of the workloads it selects may reach (egress), how their inbound side is served
// (ingress), and what happens to traffic to hosts the mesh does not know (outboundTrafficPolicy).
// Fields minipilot does not build (bind, captureMode, tls, connection pools, egressProxy) are not in
// the type, so strict decoding refuses them with their path rather than ignore them.
// +kubebuilder:validation:XValidation:rule=`has(self.egress) || has(self.ingress) || has(self.outboundTrafficPolicy)`,message="sidecar: empty configuration provided"
type Sidecar struct {
	WorkloadSelector *SidecarWorkloadSelector `json:"workloadSelector,omitempty"`
	// +kubebuilder:validation:MaxItems=256
	Ingress []*IstioIngressListener `json:"ingress,omitempty"`
	// +kubebuilder:validation:MaxItems=256
	Egress                []*IstioEgressListener `json:"egress,omitempty"`
	OutboundTrafficPolicy *OutboundTrafficPolicy `json:"outboundTrafficPolicy,omitempty"`
}

// SidecarWorkloadSelector selects the workloads (in the Sidecar's namespace) it applies to. Istio
// spells it "labels", as for ServiceEntry.
type SidecarWorkloadSelector struct {
	// +kubebuilder:validation:MaxProperties=256
	Labels map[string]string `json:"labels,omitempty"`
}

// IstioIngressListener is a port the workload serves, and where the sidecar sends what arrives there.
type IstioIngressListener struct {
	// +required
	Port *SidecarPort `json:"port,omitempty"`
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^(127\.0\.0\.1|0\.0\.0\.0|\[::1\]|\[::\])?:[0-9]+$`
	// DefaultEndpoint is 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port> or [::]:<port>; unset means
	// 127.0.0.1 on the listener's port (unix sockets are refused: minipilot does not build them).
	DefaultEndpoint string `json:"defaultEndpoint,omitempty"`
}

// IstioEgressListener imports hosts ("namespace/dnsName") for one port, or for every port when it
// has none.
type IstioEgressListener struct {
	Port *SidecarPort `json:"port,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:Pattern=`^[^/]+/[^/]+$`
	// +kubebuilder:validation:items:MaxLength=320
	Hosts []string `json:"hosts,omitempty"`
}

// SidecarPort is the port of a Sidecar listener.
type SidecarPort struct {
	// +kubebuilder:validation:Maximum=65535
	Number uint32 `json:"number,omitempty"`
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule=`self.upperAscii() in ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'GRPC-WEB', 'REDIS', 'MYSQL']`,message="must be one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP, GRPC-WEB, REDIS, MYSQL (any case)"
	Protocol string `json:"protocol,omitempty"`
	Name     string `json:"name,omitempty"`
}

// OutboundTrafficPolicy says what happens to traffic to a host the mesh does not know.
type OutboundTrafficPolicy struct {
	// +kubebuilder:validation:Enum=REGISTRY_ONLY;ALLOW_ANY
	Mode string `json:"mode,omitempty"`
}
