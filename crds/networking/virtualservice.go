// Package networking holds the networking.istio.io API (v1, v1beta1 and v1alpha3 share one schema) as
// plain Go structs with Istio's JSON field names, so that users' existing Istio YAML decodes unchanged.
// It imports nothing from Kubernetes or Envoy: the model and the validator build on it directly.
package networking

// VirtualService is the spec of a networking.istio.io VirtualService.
type VirtualService struct {
	Hosts    []string `json:"hosts,omitempty"`
	Gateways []string `json:"gateways,omitempty"`
	// +kubebuilder:validation:MaxItems=512
	HTTP     []*HTTPRoute `json:"http,omitempty"`
	TLS      []*TLSRoute  `json:"tls,omitempty"`
	TCP      []*TCPRoute  `json:"tcp,omitempty"`
	ExportTo []string     `json:"exportTo,omitempty"`
}

// HTTPRoute is one ordered rule of a VirtualService's http section.
// +kubebuilder:validation:XValidation:rule=`(has(self.route) ? 1 : 0) + (has(self.redirect) ? 1 : 0) + (has(self.directResponse) ? 1 : 0) + (has(self.delegate) ? 1 : 0) <= 1`,message="only one of route, redirect, directResponse and delegate may be set"
// +kubebuilder:validation:XValidation:rule=`(has(self.mirror) ? 1 : 0) + (has(self.mirrors) ? 1 : 0) <= 1`,message="only one of mirror and mirrors may be set"
type HTTPRoute struct {
	Name string `json:"name,omitempty"`
	// +kubebuilder:validation:MaxItems=32
	Match          []*HTTPMatchRequest     `json:"match,omitempty"`
	Route          []*HTTPRouteDestination `json:"route,omitempty"`
	Redirect       *HTTPRedirect           `json:"redirect,omitempty"`
	DirectResponse *HTTPDirectResponse     `json:"directResponse,omitempty"`
	Delegate       *Delegate               `json:"delegate,omitempty"`
	Rewrite        *HTTPRewrite            `json:"rewrite,omitempty"`
	Timeout        *Duration               `json:"timeout,omitempty"`
	Retries        *HTTPRetry              `json:"retries,omitempty"`
	Fault          *HTTPFaultInjection     `json:"fault,omitempty"`
	Mirror         *Destination            `json:"mirror,omitempty"`
	Mirrors        []*HTTPMirrorPolicy     `json:"mirrors,omitempty"`
	// +kubebuilder:validation:Maximum=100
	MirrorPercent    *uint32     `json:"mirrorPercent,omitempty"`
	MirrorPercentage *Percent    `json:"mirrorPercentage,omitempty"`
	CorsPolicy       *CorsPolicy `json:"corsPolicy,omitempty"`
	Headers          *Headers    `json:"headers,omitempty"`
}

// HTTPMatchRequest is one match block; its conditions are ANDed, the blocks of a route ORed.
type HTTPMatchRequest struct {
	Name      string       `json:"name,omitempty"`
	URI       *StringMatch `json:"uri,omitempty"`
	Scheme    *StringMatch `json:"scheme,omitempty"`
	Method    *StringMatch `json:"method,omitempty"`
	Authority *StringMatch `json:"authority,omitempty"`
	// +kubebuilder:validation:MaxProperties=32
	Headers map[string]*StringMatch `json:"headers,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port         uint32            `json:"port,omitempty"`
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
	Gateways     []string          `json:"gateways,omitempty"`
	// +kubebuilder:validation:MaxProperties=32
	QueryParams   map[string]*StringMatch `json:"queryParams,omitempty"`
	IgnoreURICase bool                    `json:"ignoreUriCase,omitempty"`
	// +kubebuilder:validation:MaxProperties=32
	WithoutHeaders  map[string]*StringMatch `json:"withoutHeaders,omitempty"`
	SourceNamespace string                  `json:"sourceNamespace,omitempty"`
	StatPrefix      string                  `json:"statPrefix,omitempty"`
}

// StringMatch is a oneof: exactly one of Exact, Prefix or Regex (RE2) is set.
// A match with none set (`{}`) matches presence only, as in Istio's header matching.
// +kubebuilder:validation:XValidation:rule=`(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.regex) ? 1 : 0) <= 1`,message="only one of exact, prefix and regex may be set"
type StringMatch struct {
	Exact  *string `json:"exact,omitempty"`
	Prefix *string `json:"prefix,omitempty"`
	Regex  *string `json:"regex,omitempty"`
}

// HTTPRouteDestination is a weighted destination of an HTTP route.
type HTTPRouteDestination struct {
	// +required
	Destination *Destination `json:"destination,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight  int32    `json:"weight,omitempty"`
	Headers *Headers `json:"headers,omitempty"`
}

// RouteDestination is a weighted destination of a TCP or TLS route.
type RouteDestination struct {
	// +required
	Destination *Destination `json:"destination,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight,omitempty"`
}

// Destination names a service (and optionally a subset and port) that traffic goes to.
type Destination struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Host   string        `json:"host,omitempty"`
	Subset string        `json:"subset,omitempty"`
	Port   *PortSelector `json:"port,omitempty"`
}

// PortSelector selects a service port by number.
type PortSelector struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Number uint32 `json:"number,omitempty"`
}

// Headers manipulates request and response headers.
type Headers struct {
	Request  *HeaderOperations `json:"request,omitempty"`
	Response *HeaderOperations `json:"response,omitempty"`
}

// HeaderOperations sets (overwrites), adds (appends) and removes headers.
type HeaderOperations struct {
	Set    map[string]string `json:"set,omitempty"`
	Add    map[string]string `json:"add,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// HTTPRedirect answers with a redirect instead of forwarding.
// +kubebuilder:validation:XValidation:rule=`(has(self.port) ? 1 : 0) + (has(self.derivePort) ? 1 : 0) <= 1`,message="only one of port and derivePort may be set"
type HTTPRedirect struct {
	URI       string `json:"uri,omitempty"`
	Authority string `json:"authority,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port uint32 `json:"port,omitempty"`
	// +kubebuilder:validation:Enum=FROM_PROTOCOL_DEFAULT;FROM_REQUEST_PORT
	DerivePort string `json:"derivePort,omitempty"`
	Scheme     string `json:"scheme,omitempty"`
	// +kubebuilder:validation:Enum=301;302;303;307;308
	RedirectCode uint32 `json:"redirectCode,omitempty"`
}

// HTTPDirectResponse answers with a fixed status and body instead of forwarding.
type HTTPDirectResponse struct {
	// +required
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=599
	Status uint32    `json:"status,omitempty"`
	Body   *HTTPBody `json:"body,omitempty"`
}

// HTTPBody is a oneof: String or Bytes (base64 in YAML).
// +kubebuilder:validation:XValidation:rule=`(has(self.string) ? 1 : 0) + (has(self.bytes) ? 1 : 0) <= 1`,message="only one of string and bytes may be set"
type HTTPBody struct {
	String *string `json:"string,omitempty"`
	Bytes  []byte  `json:"bytes,omitempty"`
}

// Delegate points an HTTP route at the routes of another VirtualService.
type Delegate struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// HTTPRewrite rewrites the path and authority before forwarding.
// +kubebuilder:validation:XValidation:rule=`(has(self.uri) ? 1 : 0) + (has(self.uriRegexRewrite) ? 1 : 0) <= 1`,message="only one of uri and uriRegexRewrite may be set"
type HTTPRewrite struct {
	URI             string        `json:"uri,omitempty"`
	Authority       string        `json:"authority,omitempty"`
	URIRegexRewrite *RegexRewrite `json:"uriRegexRewrite,omitempty"`
}

// RegexRewrite replaces what an RE2 pattern matches.
type RegexRewrite struct {
	Match   string `json:"match,omitempty"`
	Rewrite string `json:"rewrite,omitempty"`
}

// HTTPRetry is a route's retry policy.
type HTTPRetry struct {
	// +kubebuilder:validation:Minimum=0
	Attempts              int32     `json:"attempts,omitempty"`
	PerTryTimeout         *Duration `json:"perTryTimeout,omitempty"`
	RetryOn               string    `json:"retryOn,omitempty"`
	RetryRemoteLocalities *bool     `json:"retryRemoteLocalities,omitempty"`
}

// HTTPFaultInjection injects delays and aborts into a share of requests.
type HTTPFaultInjection struct {
	Delay *Delay `json:"delay,omitempty"`
	Abort *Abort `json:"abort,omitempty"`
}

// Delay is a fixed delay fault.
type Delay struct {
	FixedDelay       *Duration `json:"fixedDelay,omitempty"`
	ExponentialDelay *Duration `json:"exponentialDelay,omitempty"`
	Percentage       *Percent  `json:"percentage,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Percent int32 `json:"percent,omitempty"`
}

// Abort is an abort fault with an HTTP or gRPC status.
// +kubebuilder:validation:XValidation:rule=`(has(self.httpStatus) ? 1 : 0) + (has(self.grpcStatus) ? 1 : 0) <= 1`,message="only one of httpStatus and grpcStatus may be set"
type Abort struct {
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=599
	HTTPStatus int32    `json:"httpStatus,omitempty"`
	GRPCStatus string   `json:"grpcStatus,omitempty"`
	HTTP2Error string   `json:"http2Error,omitempty"`
	Percentage *Percent `json:"percentage,omitempty"`
}

// Percent is a percentage in 0..100 with a fractional part.
type Percent struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Value float64 `json:"value,omitempty"`
}

// HTTPMirrorPolicy mirrors a share of requests to another destination.
type HTTPMirrorPolicy struct {
	Destination *Destination `json:"destination,omitempty"`
	Percentage  *Percent     `json:"percentage,omitempty"`
}

// CorsPolicy is a route's CORS policy.
type CorsPolicy struct {
	// +kubebuilder:validation:MaxItems=64
	AllowOrigins        []*StringMatch `json:"allowOrigins,omitempty"`
	AllowOrigin         []string       `json:"allowOrigin,omitempty"`
	AllowMethods        []string       `json:"allowMethods,omitempty"`
	AllowHeaders        []string       `json:"allowHeaders,omitempty"`
	ExposeHeaders       []string       `json:"exposeHeaders,omitempty"`
	MaxAge              *Duration      `json:"maxAge,omitempty"`
	AllowCredentials    *bool          `json:"allowCredentials,omitempty"`
	UnmatchedPreflights string         `json:"unmatchedPreflights,omitempty"`
}

// TLSRoute routes TLS connections by SNI without terminating them.
type TLSRoute struct {
	// +required
	// +kubebuilder:validation:MinItems=1
	Match []*TLSMatchAttributes `json:"match,omitempty"`
	Route []*RouteDestination   `json:"route,omitempty"`
}

// TLSMatchAttributes match a TLS connection.
type TLSMatchAttributes struct {
	// +required
	// +kubebuilder:validation:MinItems=1
	SniHosts           []string `json:"sniHosts,omitempty"`
	DestinationSubnets []string `json:"destinationSubnets,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port            uint32            `json:"port,omitempty"`
	SourceLabels    map[string]string `json:"sourceLabels,omitempty"`
	Gateways        []string          `json:"gateways,omitempty"`
	SourceNamespace string            `json:"sourceNamespace,omitempty"`
}

// TCPRoute routes opaque TCP connections.
type TCPRoute struct {
	Match []*L4MatchAttributes `json:"match,omitempty"`
	Route []*RouteDestination  `json:"route,omitempty"`
}

// L4MatchAttributes match a TCP connection.
type L4MatchAttributes struct {
	DestinationSubnets []string `json:"destinationSubnets,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port            uint32            `json:"port,omitempty"`
	SourceSubnet    string            `json:"sourceSubnet,omitempty"`
	SourceLabels    map[string]string `json:"sourceLabels,omitempty"`
	Gateways        []string          `json:"gateways,omitempty"`
	SourceNamespace string            `json:"sourceNamespace,omitempty"`
}
