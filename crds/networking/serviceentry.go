package networking

// ServiceEntry is the spec of a networking.istio.io ServiceEntry.
// +kubebuilder:validation:XValidation:rule=`(has(self.endpoints) ? 1 : 0) + (has(self.workloadSelector) ? 1 : 0) <= 1`,message="only one of endpoints and workloadSelector may be set"
type ServiceEntry struct {
	// +required
	// +kubebuilder:validation:MinItems=1
	Hosts     []string `json:"hosts,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Ports []*ServicePort `json:"ports,omitempty"`
	// +kubebuilder:validation:Enum=MESH_EXTERNAL;MESH_INTERNAL
	Location string `json:"location,omitempty"`
	// +kubebuilder:validation:Enum=NONE;STATIC;DNS;DNS_ROUND_ROBIN
	Resolution string `json:"resolution,omitempty"`
	// +kubebuilder:validation:MaxItems=4096
	Endpoints        []*WorkloadEntry       `json:"endpoints,omitempty"`
	WorkloadSelector *EntryWorkloadSelector `json:"workloadSelector,omitempty"`
	ExportTo         []string               `json:"exportTo,omitempty"`
	SubjectAltNames  []string               `json:"subjectAltNames,omitempty"`
}

// EntryWorkloadSelector selects the workloads a ServiceEntry stands for. Istio spells it "labels"
// here, unlike DestinationRule's "matchLabels" (WorkloadSelector).
type EntryWorkloadSelector struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// ServicePort is a port of a ServiceEntry.
type ServicePort struct {
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Number uint32 `json:"number,omitempty"`
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule=`self.upperAscii() in ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'GRPC-WEB', 'REDIS', 'MYSQL']`,message="must be one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP, GRPC-WEB, REDIS, MYSQL (any case)"
	Protocol string `json:"protocol,omitempty"`
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// WorkloadEntry is an endpoint of a ServiceEntry.
type WorkloadEntry struct {
	Address string `json:"address,omitempty"`
	// +kubebuilder:validation:MaxProperties=128
	// +kubebuilder:validation:XValidation:rule=`self.all(name, self[name] >= 1 && self[name] <= 65535)`,message="port numbers must be in 1..65535"
	Ports          map[string]uint32 `json:"ports,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Network        string            `json:"network,omitempty"`
	Locality       string            `json:"locality,omitempty"`
	Weight         uint32            `json:"weight,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
}

// Gateway is the spec of a networking.istio.io Gateway.
type Gateway struct {
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	Servers  []*Server         `json:"servers,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

// Server is one listening port of a Gateway.
type Server struct {
	// +required
	Port *Port  `json:"port,omitempty"`
	Bind string `json:"bind,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	Hosts           []string           `json:"hosts,omitempty"`
	TLS             *ServerTLSSettings `json:"tls,omitempty"`
	Name            string             `json:"name,omitempty"`
	DefaultEndpoint string             `json:"defaultEndpoint,omitempty"`
}

// Port is a Gateway server's port.
type Port struct {
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Number uint32 `json:"number,omitempty"`
	// +required
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule=`self.upperAscii() in ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'GRPC-WEB', 'REDIS', 'MYSQL']`,message="must be one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP, GRPC-WEB, REDIS, MYSQL (any case)"
	Protocol string `json:"protocol,omitempty"`
	Name     string `json:"name,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// ServerTLSSettings configures TLS on a Gateway server. As Istio's validation: a server that
// terminates TLS needs its certificate and key (or a credentialName), and MUTUAL a CA to check
// clients' certificates against. An unset mode is PASSTHROUGH.
// +kubebuilder:validation:XValidation:rule=`!has(self.mode) || !(self.mode in ['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL']) || (has(self.credentialName) && size(self.credentialName) > 0) || (has(self.serverCertificate) && size(self.serverCertificate) > 0 && has(self.privateKey) && size(self.privateKey) > 0)`,message="SIMPLE and MUTUAL modes need serverCertificate and privateKey (or a credentialName)"
// +kubebuilder:validation:XValidation:rule=`!has(self.mode) || !(self.mode in ['MUTUAL', 'OPTIONAL_MUTUAL']) || (has(self.credentialName) && size(self.credentialName) > 0) || (has(self.caCertificates) && size(self.caCertificates) > 0)`,message="MUTUAL mode needs caCertificates to verify client certificates against (or a credentialName)"
type ServerTLSSettings struct {
	HTTPSRedirect bool `json:"httpsRedirect,omitempty"`
	// +kubebuilder:validation:Enum=PASSTHROUGH;SIMPLE;MUTUAL;AUTO_PASSTHROUGH;ISTIO_MUTUAL;OPTIONAL_MUTUAL
	Mode              string   `json:"mode,omitempty"`
	ServerCertificate string   `json:"serverCertificate,omitempty"`
	PrivateKey        string   `json:"privateKey,omitempty"`
	CaCertificates    string   `json:"caCertificates,omitempty"`
	CredentialName    string   `json:"credentialName,omitempty"`
	SubjectAltNames   []string `json:"subjectAltNames,omitempty"`
	// +kubebuilder:validation:Enum=TLS_AUTO;TLSV1_0;TLSV1_1;TLSV1_2;TLSV1_3
	MinProtocolVersion string `json:"minProtocolVersion,omitempty"`
	// +kubebuilder:validation:Enum=TLS_AUTO;TLSV1_0;TLSV1_1;TLSV1_2;TLSV1_3
	MaxProtocolVersion string   `json:"maxProtocolVersion,omitempty"`
	CipherSuites       []string `json:"cipherSuites,omitempty"`
}
