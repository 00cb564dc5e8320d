package networking

// DestinationRule is the spec of a networking.istio.io DestinationRule.
type DestinationRule struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Host          string         `json:"host,omitempty"`
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	Subsets          []*Subset         `json:"subsets,omitempty"`
	ExportTo         []string          `json:"exportTo,omitempty"`
	WorkloadSelector *WorkloadSelector `json:"workloadSelector,omitempty"`
}

// WorkloadSelector selects workloads by their labels.
type WorkloadSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// TrafficPolicy shapes the traffic to a service, a subset or a port.
type TrafficPolicy struct {
	LoadBalancer     *LoadBalancerSettings   `json:"loadBalancer,omitempty"`
	ConnectionPool   *ConnectionPoolSettings `json:"connectionPool,omitempty"`
	OutlierDetection *OutlierDetection       `json:"outlierDetection,omitempty"`
	TLS              *ClientTLSSettings      `json:"tls,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	PortLevelSettings []*PortTrafficPolicy `json:"portLevelSettings,omitempty"`
	Tunnel            *TunnelSettings      `json:"tunnel,omitempty"`
	ProxyProtocol     *ProxyProtocol       `json:"proxyProtocol,omitempty"`
}

// PortTrafficPolicy overrides the traffic policy for one port.
type PortTrafficPolicy struct {
	Port             *PortSelector           `json:"port,omitempty"`
	LoadBalancer     *LoadBalancerSettings   `json:"loadBalancer,omitempty"`
	ConnectionPool   *ConnectionPoolSettings `json:"connectionPool,omitempty"`
	OutlierDetection *OutlierDetection       `json:"outlierDetection,omitempty"`
	TLS              *ClientTLSSettings      `json:"tls,omitempty"`
}

// TunnelSettings and ProxyProtocol are part of the schema so that Istio YAML decodes; the validator
// refuses them because minipilot does not implement them.
type TunnelSettings struct {
	Protocol   string `json:"protocol,omitempty"`
	TargetHost string `json:"targetHost,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// ProxyProtocol: see TunnelSettings.
type ProxyProtocol struct {
	Version string `json:"version,omitempty"`
}

// Subset is a named group of endpoints selected by labels.
type Subset struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	TrafficPolicy *TrafficPolicy    `json:"trafficPolicy,omitempty"`
}

// Simple load balancer names.
const (
	LBUnspecified  = "UNSPECIFIED"
	LBLeastConn    = "LEAST_CONN"
	LBRandom       = "RANDOM"
	LBPassthrough  = "PASSTHROUGH"
	LBRoundRobin   = "ROUND_ROBIN"
	LBLeastRequest = "LEAST_REQUEST"
)

// LoadBalancerSettings is a oneof: Simple or ConsistentHash.
// +kubebuilder:validation:XValidation:rule=`(has(self.simple) ? 1 : 0) + (has(self.consistentHash) ? 1 : 0) <= 1`,message="only one of simple and consistentHash may be set"
type LoadBalancerSettings struct {
	// +kubebuilder:validation:Enum=UNSPECIFIED;LEAST_CONN;RANDOM;PASSTHROUGH;ROUND_ROBIN;LEAST_REQUEST
	Simple             string                       `json:"simple,omitempty"`
	ConsistentHash     *ConsistentHashLB            `json:"consistentHash,omitempty"`
	LocalityLbSetting  *LocalityLoadBalancerSetting `json:"localityLbSetting,omitempty"`
	WarmupDurationSecs *Duration                    `json:"warmupDurationSecs,omitempty"`
}

// ConsistentHashLB hashes on one request property (a oneof) with ring hash or Maglev.
// +kubebuilder:validation:XValidation:rule=`(has(self.httpHeaderName) ? 1 : 0) + (has(self.httpCookie) ? 1 : 0) + (has(self.useSourceIp) ? 1 : 0) + (has(self.httpQueryParameterName) ? 1 : 0) <= 1`,message="only one of httpHeaderName, httpCookie, useSourceIp and httpQueryParameterName may be set"
// +kubebuilder:validation:XValidation:rule=`(has(self.ringHash) ? 1 : 0) + (has(self.maglev) ? 1 : 0) <= 1`,message="only one of ringHash and maglev may be set"
type ConsistentHashLB struct {
	// No NUL, CR or LF: Envoy's rule for a header name (HTTP_HEADER_NAME, not strict).
	// +kubebuilder:validation:Pattern=`^[^\x00\r\n]*$`
	HTTPHeaderName         string      `json:"httpHeaderName,omitempty"`
	HTTPCookie             *HTTPCookie `json:"httpCookie,omitempty"`
	UseSourceIP            bool        `json:"useSourceIp,omitempty"`
	HTTPQueryParameterName string      `json:"httpQueryParameterName,omitempty"`
	RingHash               *RingHash   `json:"ringHash,omitempty"`
	Maglev                 *MagLev     `json:"maglev,omitempty"`
	// +kubebuilder:validation:Maximum=8388608
	MinimumRingSize uint64 `json:"minimumRingSize,omitempty"`
}

// HTTPCookie names the cookie to hash on; with a TTL Envoy generates it when absent.
type HTTPCookie struct {
	// No NUL, CR or LF: Envoy writes the name into a Set-Cookie header.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[^\x00\r\n]*$`
	Name string `json:"name,omitempty"`
	// No NUL, CR or LF: Envoy writes the path into a Set-Cookie header.
	// +kubebuilder:validation:Pattern=`^[^\x00\r\n]*$`
	Path string    `json:"path,omitempty"`
	TTL  *Duration `json:"ttl,omitempty"`
}

// RingHash configures the ring hash load balancer.
type RingHash struct {
	// Envoy's bound (Cluster.RingHashLbConfig), and gRPC's.
	// +kubebuilder:validation:Maximum=8388608
	MinimumRingSize uint64 `json:"minimumRingSize,omitempty"`
}

// MagLev configures the Maglev load balancer.
type MagLev struct {
	// Envoy's bound (Cluster.MaglevLbConfig); the validator also wants a prime.
	// +kubebuilder:validation:Maximum=5000011
	TableSize uint64 `json:"tableSize,omitempty"`
}

// LocalityLoadBalancerSetting distributes or fails over traffic between localities.
// +kubebuilder:validation:XValidation:rule=`(has(self.distribute) ? 1 : 0) + (has(self.failover) ? 1 : 0) <= 1`,message="only one of distribute and failover may be set"
type LocalityLoadBalancerSetting struct {
	Distribute       []*LocalityDistribute `json:"distribute,omitempty"`
	Failover         []*LocalityFailover   `json:"failover,omitempty"`
	FailoverPriority []string              `json:"failoverPriority,omitempty"`
	Enabled          *bool                 `json:"enabled,omitempty"`
}

// LocalityDistribute sends the traffic from one locality to others by weight.
type LocalityDistribute struct {
	From string            `json:"from,omitempty"`
	To   map[string]uint32 `json:"to,omitempty"`
}

// LocalityFailover names the region to fail over to.
type LocalityFailover struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// ConnectionPoolSettings are circuit-breaking limits.
type ConnectionPoolSettings struct {
	TCP  *TCPSettings  `json:"tcp,omitempty"`
	HTTP *HTTPSettings `json:"http,omitempty"`
}

// TCPSettings are TCP connection pool limits.
type TCPSettings struct {
	// +kubebuilder:validation:Minimum=0
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// At least 1ms (Envoy refuses 0), in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0`,message="must be at least 1ms, in whole milliseconds"
	ConnectTimeout *Duration     `json:"connectTimeout,omitempty"`
	TCPKeepalive   *TCPKeepalive `json:"tcpKeepalive,omitempty"`
	// At least 1ms (Envoy's bound for TCP), in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0`,message="must be at least 1ms, in whole milliseconds"
	MaxConnectionDuration *Duration `json:"maxConnectionDuration,omitempty"`
	// 0 turns it off; from 1ms up, in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || int(duration(self)) < 1000000 || int(duration(self)) % 1000000 == 0`,message="must be under 1ms or in whole milliseconds"
	IdleTimeout *Duration `json:"idleTimeout,omitempty"`
}

// TCPKeepalive configures TCP keepalive probes.
type TCPKeepalive struct {
	// Linux's bound (TCP_KEEPCNT); the validator bounds time and interval to its 32767 s too.
	// +kubebuilder:validation:Maximum=127
	Probes   uint32    `json:"probes,omitempty"`
	Time     *Duration `json:"time,omitempty"`
	Interval *Duration `json:"interval,omitempty"`
}

// HTTPSettings are HTTP connection pool limits.
type HTTPSettings struct {
	// +kubebuilder:validation:Minimum=0
	HTTP1MaxPendingRequests int32 `json:"http1MaxPendingRequests,omitempty"`
	// +kubebuilder:validation:Minimum=0
	HTTP2MaxRequests int32 `json:"http2MaxRequests,omitempty"`
	// +kubebuilder:validation:Minimum=0
	MaxRequestsPerConnection int32 `json:"maxRequestsPerConnection,omitempty"`
	// +kubebuilder:validation:Minimum=0
	MaxRetries int32 `json:"maxRetries,omitempty"`
	// At least 1ms, in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0`,message="must be at least 1ms, in whole milliseconds"
	IdleTimeout *Duration `json:"idleTimeout,omitempty"`
	// +kubebuilder:validation:Enum=DEFAULT;DO_NOT_UPGRADE;UPGRADE
	H2UpgradePolicy   string `json:"h2UpgradePolicy,omitempty"`
	UseClientProtocol bool   `json:"useClientProtocol,omitempty"`
	// +kubebuilder:validation:Minimum=0
	MaxConcurrentStreams int32 `json:"maxConcurrentStreams,omitempty"`
}

// OutlierDetection ejects failing endpoints for a while.
type OutlierDetection struct {
	SplitExternalLocalOriginErrors bool    `json:"splitExternalLocalOriginErrors,omitempty"`
	ConsecutiveLocalOriginFailures *uint32 `json:"consecutiveLocalOriginFailures,omitempty"`
	ConsecutiveGatewayErrors       *uint32 `json:"consecutiveGatewayErrors,omitempty"`
	Consecutive5xxErrors           *uint32 `json:"consecutive5xxErrors,omitempty"`
	// +kubebuilder:validation:Minimum=0
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// At least 1ms (Envoy refuses 0), in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0`,message="must be at least 1ms, in whole milliseconds"
	Interval *Duration `json:"interval,omitempty"`
	// At least 1ms (Envoy refuses 0), in whole milliseconds as Istio requires.
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0`,message="must be at least 1ms, in whole milliseconds"
	BaseEjectionTime *Duration `json:"baseEjectionTime,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaxEjectionPercent int32 `json:"maxEjectionPercent,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MinHealthPercent int32 `json:"minHealthPercent,omitempty"`
}

// Client TLS modes.
const (
	TLSDisable     = "DISABLE"
	TLSSimple      = "SIMPLE"
	TLSMutual      = "MUTUAL"
	TLSIstioMutual = "ISTIO_MUTUAL"
)

// ClientTLSSettings configures TLS to the upstream.
type ClientTLSSettings struct {
	// +kubebuilder:validation:Enum=DISABLE;SIMPLE;MUTUAL;ISTIO_MUTUAL
	Mode               string   `json:"mode,omitempty"`
	ClientCertificate  string   `json:"clientCertificate,omitempty"`
	PrivateKey         string   `json:"privateKey,omitempty"`
	CaCertificates     string   `json:"caCertificates,omitempty"`
	CredentialName     string   `json:"credentialName,omitempty"`
	SubjectAltNames    []string `json:"subjectAltNames,omitempty"`
	Sni                string   `json:"sni,omitempty"`
	InsecureSkipVerify *bool    `json:"insecureSkipVerify,omitempty"`
	CaCrl              string   `json:"caCrl,omitempty"`
}
