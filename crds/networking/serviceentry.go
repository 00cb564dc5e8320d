package networking

// ServiceEntry is the spec of a networking.istio.io ServiceEntry.
type ServiceEntry struct {
	Hosts            []string          `json:"hosts,omitempty"`
	Addresses        []string          `json:"addresses,omitempty"`
	Ports            []*ServicePort    `json:"ports,omitempty"`
	Location         string            `json:"location,omitempty"`
	Resolution       string            `json:"resolution,omitempty"`
	Endpoints        []*WorkloadEntry  `json:"endpoints,omitempty"`
	WorkloadSelector *WorkloadSelector `json:"workloadSelector,omitempty"`
	ExportTo         []string          `json:"exportTo,omitempty"`
	SubjectAltNames  []string          `json:"subjectAltNames,omitempty"`
}

// ServicePort is a port of a ServiceEntry.
type ServicePort struct {
	Number     uint32 `json:"number,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	Name       string `json:"name,omitempty"`
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// WorkloadEntry is an endpoint of a ServiceEntry.
type WorkloadEntry struct {
	Address        string            `json:"address,omitempty"`
	Ports          map[string]uint32 `json:"ports,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Network        string            `json:"network,omitempty"`
	Locality       string            `json:"locality,omitempty"`
	Weight         uint32            `json:"weight,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
}

// Gateway is the spec of a networking.istio.io Gateway.
type Gateway struct {
	Servers  []*Server         `json:"servers,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

// Server is one listening port of a Gateway.
type Server struct {
	Port            *Port              `json:"port,omitempty"`
	Bind            string             `json:"bind,omitempty"`
	Hosts           []string           `json:"hosts,omitempty"`
	TLS             *ServerTLSSettings `json:"tls,omitempty"`
	Name            string             `json:"name,omitempty"`
	DefaultEndpoint string             `json:"defaultEndpoint,omitempty"`
}

// Port is a Gateway server's port.
type Port struct {
	Number     uint32 `json:"number,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	Name       string `json:"name,omitempty"`
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// ServerTLSSettings configures TLS on a Gateway server.
type ServerTLSSettings struct {
	HTTPSRedirect      bool     `json:"httpsRedirect,omitempty"`
	Mode               string   `json:"mode,omitempty"`
	ServerCertificate  string   `json:"serverCertificate,omitempty"`
	PrivateKey         string   `json:"privateKey,omitempty"`
	CaCertificates     string   `json:"caCertificates,omitempty"`
	CredentialName     string   `json:"credentialName,omitempty"`
	SubjectAltNames    []string `json:"subjectAltNames,omitempty"`
	MinProtocolVersion string   `json:"minProtocolVersion,omitempty"`
	MaxProtocolVersion string   `json:"maxProtocolVersion,omitempty"`
	CipherSuites       []string `json:"cipherSuites,omitempty"`
}
