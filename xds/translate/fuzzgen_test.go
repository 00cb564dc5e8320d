package translate_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// meshGen builds a model Part from fuzz bytes (see newMeshGen): every decision reads one byte (0
// once they run out, so every input is a valid mesh) and picks from small pools of values chosen to
// collide (two services on one port number or virtual IP, a subset named twice) or to be what no
// validator should let through but some source might (port 0 and 70000, a hostname with a newline,
// an endpoint address that is not an IP, a ring size of 2^40).
//
// Services and endpoints are anything. Routing rules are structurally sound, as the validator
// guarantees whatever else it lets through: required fields set and no null list elements; every
// value in them is random.
type meshGen struct {
	counts  [sections]int
	streams [sections]stream
	cur     *stream
}

// The sections of a mesh. Each reads its own stream, so that a short input has some of each.
const (
	servicesSection = iota // services and their endpoints
	rulesSection           // DestinationRules
	routesSection          // VirtualServices
	gatewaysSection
	entriesSection // ServiceEntries
	sections
)

// maxCounts bounds how many objects of each section a mesh has.
var maxCounts = [sections]int{4, 2, 3, 2, 1}

// newMeshGen reads the input as a header of one byte per section, the number of its objects, then
// the sections' streams interleaved: byte i of the rest belongs to section i mod 5.
func newMeshGen(data []byte) *meshGen {
	g := &meshGen{}
	for k := range sections {
		if k < len(data) {
			g.counts[k] = int(data[k]) % (maxCounts[k] + 1)
		}
	}
	for i := sections; i < len(data); i++ {
		k := (i - sections) % sections
		g.streams[k].data = append(g.streams[k].data, data[i])
	}
	return g
}

type stream struct {
	data []byte
	pos  int
}

func (g *meshGen) byte() byte {
	s := g.cur
	if s.pos >= len(s.data) {
		return 0
	}
	b := s.data[s.pos]
	s.pos++
	return b
}

// n picks a number in [0, k).
func (g *meshGen) n(k int) int { return int(g.byte()) % k }

// maybe is true for one byte value in four.
func (g *meshGen) maybe() bool { return g.byte()%4 == 1 }

func pick[T any](g *meshGen, options ...T) T { return options[g.n(len(options))] }

// some makes up to max values; the count is a decision of its own.
func some[T any](g *meshGen, max int, one func() T) []T {
	return times(g.n(max+1), one)
}

func times[T any](n int, one func() T) []T {
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = one()
	}
	return out
}

const fuzzProxyIP = "10.1.0.10"

var (
	// The pools repeat the usual values, so that rules often meet the services they name.
	fuzzNames      = []string{"reviews", "ratings", "reviews", "ratings", "Bad_Name", "a\nb", "", "x.y", strings.Repeat("l", 70), "UPPER"}
	fuzzNamespaces = []string{"default", "default", "default", "prod", ""}
	fuzzAddresses  = []string{"", "10.96.0.1", "10.96.0.2", "10.96.0.1", "::1", "not-an-ip", "10.0.0.0/24", "0.0.0.0", "10.96.0.1\n"}
	fuzzPorts      = []uint32{9080, 9080, 80, 443, 0, 65535, 65536, 70000, 15001, 3306}
	fuzzPortNames  = []string{"http", "http2", "grpc", "tcp", "tls", "", "https-x", "udp"}
	fuzzProtocols  = []model.Protocol{model.ProtocolHTTP, model.ProtocolHTTP, model.ProtocolHTTP2, model.ProtocolGRPC, model.ProtocolGRPCWeb,
		model.ProtocolHTTPS, model.ProtocolTLS, model.ProtocolTCP, model.ProtocolHTTP, model.ProtocolUDP, model.ProtocolMongo, model.ProtocolUnsupported}
	fuzzEndpointIPs = []string{"10.1.0.1", "10.1.0.2", fuzzProxyIP, "", "not-an-ip", "::1", "host.example.com", "10.1.0.1"}
	fuzzLocalities  = []string{"", "eu/z1", "eu/z2/s", "us"}
	fuzzHosts       = []string{"reviews", "ratings", "reviews.default.svc.cluster.local", "*", "*.example.com", "api.example.com", "missing", "Bad_Name.default"}
	fuzzSubsets     = []string{"v1", "v2", "", "v1", "a|b"}
	fuzzDurations   = []*networking.Duration{nil, networking.NewDuration(0), networking.NewDuration(time.Millisecond),
		networking.NewDuration(-time.Second), networking.NewDuration(1 << 62), networking.NewDuration(10 * time.Second)}
	fuzzSizes   = []uint64{0, 1024, 1 << 40, 8388609, 65537}
	fuzzInt32s  = []int32{0, 1, -1, 1<<31 - 1, 100}
	fuzzUint32s = []uint32{0, 1, 1<<32 - 1, 100}
	fuzzSNIs    = []string{"a.example.com", "*.example.com", "*", "b*.example.com", "", "A.example.com", "api.example.com"}
	fuzzCIDRs   = []string{"10.0.0.0/8", "10.0.0.1/8", "bad", "::/0", "10.96.0.1", "10.0.0.0/33"}
	fuzzHeaders = []string{"x-user", "", "Bad Header", ":authority", "x\nnewline"}
)

func (g *meshGen) part() model.Part {
	var p model.Part
	g.cur = &g.streams[servicesSection]
	p.Services = times(g.counts[servicesSection], g.service)
	for _, svc := range p.Services {
		for _, port := range svc.Ports {
			p.Endpoints = append(p.Endpoints, some(g, 3, func() *model.Endpoint { return g.endpoint(svc, port) })...)
		}
	}
	g.cur = &g.streams[rulesSection]
	p.DestinationRules = times(g.counts[rulesSection], g.destinationRule)
	g.cur = &g.streams[routesSection]
	p.VirtualServices = times(g.counts[routesSection], g.virtualService)
	g.cur = &g.streams[gatewaysSection]
	p.Gateways = times(g.counts[gatewaysSection], g.gateway)
	// Sidecars read the rest of the gateways' stream, so that inputs found before they existed
	// still make the meshes they made.
	p.Sidecars = some(g, 2, g.sidecar)
	g.cur = &g.streams[entriesSection]
	p.ServiceEntries = times(g.counts[entriesSection], g.serviceEntry)
	return p
}

func (g *meshGen) service() *model.Service {
	name, ns := pick(g, fuzzNames...), pick(g, fuzzNamespaces...)
	host := model.ServiceHostname(name, ns, "cluster.local")
	switch g.n(8) {
	case 4:
		host = name
	case 5:
		host = "*.example.com"
	case 6:
		host = "api.example.com"
	case 7:
		host = strings.ToUpper(host)
	}
	svc := &model.Service{Hostname: host, Name: name, Namespace: ns, Address: pick(g, fuzzAddresses...),
		Resolution: pick(g, model.ClientSideLB, model.Passthrough, model.DNSLB, model.DNSRoundRobinLB)}
	if g.maybe() {
		svc.Addresses = some(g, 2, func() string { return pick(g, fuzzAddresses...) })
	}
	if g.maybe() {
		svc.ExternalName = pick(g, "pay.example.com", "", "bad name")
	}
	if g.maybe() {
		svc.ExportTo = []string{pick(g, ".", "*", "prod", "other")}
	}
	svc.Ports = times(1+g.n(3), func() model.Port {
		return model.Port{Name: pick(g, fuzzPortNames...), Port: pick(g, fuzzPorts...), Protocol: pick(g, fuzzProtocols...),
			TargetPort: pick[uint32](g, 0, 8080, 70000)}
	})
	return svc
}

func (g *meshGen) endpoint(svc *model.Service, port model.Port) *model.Endpoint {
	return &model.Endpoint{Service: svc.Hostname, ServicePort: port.Name, Address: pick(g, fuzzEndpointIPs...),
		Port: pick[uint32](g, 8080, 9080, 0, 65535, 70000), Labels: map[string]string{"version": pick(g, "v1", "v2")},
		Ready: g.byte()%5 != 1, Locality: model.ParseLocality(pick(g, fuzzLocalities...)), Weight: pick(g, fuzzUint32s...)}
}

func (g *meshGen) meta(kind model.Kind) model.Meta {
	return model.Meta{Kind: kind, Name: pick(g, "r1", "r2", "reviews", ""), Namespace: pick(g, fuzzNamespaces...),
		CreationTimestamp: time.Unix(int64(g.n(3)), 0)}
}

func (g *meshGen) destinationRule() *model.DestinationRule {
	spec := &networking.DestinationRule{Host: pick(g, fuzzHosts...), TrafficPolicy: g.trafficPolicy(true)}
	spec.Subsets = some(g, 3, func() *networking.Subset {
		s := &networking.Subset{Name: pick(g, fuzzSubsets...), Labels: map[string]string{"version": pick(g, "v1", "v2")}}
		if g.maybe() {
			s.TrafficPolicy = g.trafficPolicy(true)
		}
		return s
	})
	if g.maybe() {
		spec.ExportTo = []string{pick(g, ".", "*", "prod")}
	}
	if g.maybe() {
		spec.WorkloadSelector = &networking.WorkloadSelector{MatchLabels: map[string]string{"app": pick(g, "productpage", "other")}}
	}
	return &model.DestinationRule{Meta: g.meta(model.KindDestinationRule), Spec: spec}
}

func (g *meshGen) trafficPolicy(portLevel bool) *networking.TrafficPolicy {
	if g.byte()%3 == 0 {
		return nil
	}
	tp := &networking.TrafficPolicy{LoadBalancer: g.loadBalancer(), ConnectionPool: g.connectionPool(),
		OutlierDetection: g.outlier(), TLS: g.clientTLS()}
	if portLevel && g.maybe() {
		tp.PortLevelSettings = some(g, 2, func() *networking.PortTrafficPolicy {
			return &networking.PortTrafficPolicy{Port: &networking.PortSelector{Number: pick(g, fuzzPorts...)},
				LoadBalancer: g.loadBalancer(), ConnectionPool: g.connectionPool(), OutlierDetection: g.outlier(), TLS: g.clientTLS()}
		})
	}
	return tp
}

func (g *meshGen) loadBalancer() *networking.LoadBalancerSettings {
	if !g.maybe() {
		return nil
	}
	lb := &networking.LoadBalancerSettings{Simple: pick(g, "", "ROUND_ROBIN", "RANDOM", "PASSTHROUGH", "LEAST_REQUEST", "BOGUS"),
		WarmupDurationSecs: pick(g, fuzzDurations...)}
	switch g.n(4) {
	case 1:
		ch := &networking.ConsistentHashLB{MinimumRingSize: pick(g, fuzzSizes...)}
		switch g.n(4) {
		case 0:
			ch.HTTPHeaderName = pick(g, fuzzHeaders...)
		case 1:
			ch.HTTPCookie = &networking.HTTPCookie{Name: pick(g, "user", ""), TTL: pick(g, fuzzDurations...)}
		case 2:
			ch.UseSourceIP = true
		case 3:
			ch.HTTPQueryParameterName = pick(g, "q", "")
		}
		switch g.n(3) {
		case 1:
			ch.RingHash = &networking.RingHash{MinimumRingSize: pick(g, fuzzSizes...)}
		case 2:
			ch.Maglev = &networking.MagLev{TableSize: pick(g, fuzzSizes...)}
		}
		lb.ConsistentHash = ch
	case 2:
		lb.LocalityLbSetting = &networking.LocalityLoadBalancerSetting{
			Distribute: some(g, 2, func() *networking.LocalityDistribute {
				return &networking.LocalityDistribute{From: pick(g, "eu/*", "*", "us/z"), To: map[string]uint32{
					pick(g, "eu/z1", "us/*", "*"): pick(g, fuzzUint32s...), pick(g, "eu/z2/s", "eu/*"): pick(g, fuzzUint32s...)}}
			}),
			Failover:         some(g, 1, func() *networking.LocalityFailover { return &networking.LocalityFailover{From: "eu", To: "us"} }),
			FailoverPriority: some(g, 2, func() string { return pick(g, "topology.kubernetes.io/zone", "version", "") }),
		}
	}
	return lb
}

func (g *meshGen) connectionPool() *networking.ConnectionPoolSettings {
	if !g.maybe() {
		return nil
	}
	return &networking.ConnectionPoolSettings{
		TCP: &networking.TCPSettings{MaxConnections: pick(g, fuzzInt32s...), ConnectTimeout: pick(g, fuzzDurations...),
			MaxConnectionDuration: pick(g, fuzzDurations...), IdleTimeout: pick(g, fuzzDurations...),
			TCPKeepalive: &networking.TCPKeepalive{Probes: pick(g, fuzzUint32s...), Time: pick(g, fuzzDurations...), Interval: pick(g, fuzzDurations...)}},
		HTTP: &networking.HTTPSettings{HTTP1MaxPendingRequests: pick(g, fuzzInt32s...), HTTP2MaxRequests: pick(g, fuzzInt32s...),
			MaxRequestsPerConnection: pick(g, fuzzInt32s...), MaxRetries: pick(g, fuzzInt32s...), IdleTimeout: pick(g, fuzzDurations...),
			H2UpgradePolicy: pick(g, "", "UPGRADE", "DO_NOT_UPGRADE"), UseClientProtocol: g.maybe(), MaxConcurrentStreams: pick(g, fuzzInt32s...)},
	}
}

func (g *meshGen) outlier() *networking.OutlierDetection {
	if !g.maybe() {
		return nil
	}
	u := func() *uint32 { v := pick(g, fuzzUint32s...); return pick(g, nil, &v) }
	return &networking.OutlierDetection{SplitExternalLocalOriginErrors: g.maybe(), ConsecutiveLocalOriginFailures: u(),
		ConsecutiveGatewayErrors: u(), Consecutive5xxErrors: u(), ConsecutiveErrors: pick(g, fuzzInt32s...),
		Interval: pick(g, fuzzDurations...), BaseEjectionTime: pick(g, fuzzDurations...),
		MaxEjectionPercent: pick[int32](g, 0, 10, 100, 101, -1), MinHealthPercent: pick[int32](g, 0, 50, 101, -1)}
}

func (g *meshGen) clientTLS() *networking.ClientTLSSettings {
	if !g.maybe() {
		return nil
	}
	return &networking.ClientTLSSettings{Mode: pick(g, "SIMPLE", "MUTUAL", "DISABLE", "ISTIO_MUTUAL", "BOGUS"),
		CaCertificates: pick(g, "/ca.pem", ""), ClientCertificate: pick(g, "/cert.pem", ""), PrivateKey: pick(g, "/key.pem", ""),
		SubjectAltNames: some(g, 2, func() string { return pick(g, "spiffe://x", "", "a.example.com") }),
		Sni:             pick(g, "", "api.example.com", "bad\nsni"), CaCrl: pick(g, "", "/crl.pem")}
}

func (g *meshGen) virtualService() *model.VirtualService {
	spec := &networking.VirtualService{Hosts: times(1+g.n(2), func() string { return pick(g, fuzzHosts...) })}
	if g.byte() == 1 {
		spec.Hosts = nil // a delegate
	}
	spec.Gateways = pick(g, nil, []string{"mesh"}, []string{"gw"}, []string{"default/gw", "mesh"})
	spec.HTTP = times(1+g.n(3), g.httpRoute)
	spec.TCP = some(g, 2, func() *networking.TCPRoute {
		return &networking.TCPRoute{Match: some(g, 2, func() *networking.L4MatchAttributes {
			return &networking.L4MatchAttributes{DestinationSubnets: some(g, 2, func() string { return pick(g, fuzzCIDRs...) }),
				Port: pick(g, fuzzPorts...)}
		}), Route: g.routeDestinations()}
	})
	spec.TLS = some(g, 2, func() *networking.TLSRoute {
		return &networking.TLSRoute{Match: []*networking.TLSMatchAttributes{{
			SniHosts:           append([]string{pick(g, fuzzSNIs...)}, some(g, 2, func() string { return pick(g, fuzzSNIs...) })...),
			DestinationSubnets: some(g, 1, func() string { return pick(g, fuzzCIDRs...) }), Port: pick(g, fuzzPorts...)}},
			Route: g.routeDestinations()}
	})
	if g.maybe() {
		spec.ExportTo = []string{pick(g, ".", "*", "prod")}
	}
	return &model.VirtualService{Meta: g.meta(model.KindVirtualService), Spec: spec}
}

func (g *meshGen) destination() *networking.Destination {
	d := &networking.Destination{Host: pick(g, fuzzHosts...), Subset: pick(g, "", "v1", "v2", "")}
	if g.maybe() {
		d.Port = &networking.PortSelector{Number: pick(g, fuzzPorts...)}
	}
	return d
}

func (g *meshGen) routeDestinations() []*networking.RouteDestination {
	return append([]*networking.RouteDestination{{Destination: g.destination(), Weight: pick[int32](g, 0, 50, 100, -1)}},
		some(g, 2, func() *networking.RouteDestination {
			return &networking.RouteDestination{Destination: g.destination(), Weight: pick[int32](g, 0, 50, 100, 1000)}
		})...)
}

func (g *meshGen) stringMatch() *networking.StringMatch {
	s := pick(g, "/", "", "[", "/a", "^/v.*", "x\ny")
	switch g.n(4) {
	case 0:
		return &networking.StringMatch{Prefix: &s}
	case 1:
		return &networking.StringMatch{Exact: &s}
	case 2:
		return &networking.StringMatch{Regex: &s}
	}
	return &networking.StringMatch{}
}

func (g *meshGen) httpRoute() *networking.HTTPRoute {
	hr := &networking.HTTPRoute{Name: pick(g, "", "r", "r")}
	hr.Match = some(g, 2, func() *networking.HTTPMatchRequest {
		m := &networking.HTTPMatchRequest{Name: pick(g, "", "m"), URI: pick(g, nil, g.stringMatch()), Port: pick[uint32](g, 0, 9080, 80, 70000),
			IgnoreURICase: g.maybe(), StatPrefix: pick(g, "", "s")}
		if g.maybe() {
			m.Headers = map[string]*networking.StringMatch{pick(g, fuzzHeaders...): g.stringMatch()}
		}
		if g.maybe() {
			m.QueryParams = map[string]*networking.StringMatch{pick(g, "q", ""): g.stringMatch()}
		}
		if g.maybe() {
			m.SourceLabels = map[string]string{"app": pick(g, "productpage", "other")}
		}
		return m
	})
	switch g.n(8) {
	case 1:
		hr.Redirect = &networking.HTTPRedirect{URI: pick(g, "/r", ""), Authority: pick(g, "", "a.example.com"),
			RedirectCode: pick[uint32](g, 301, 0, 399, 308), Port: pick[uint32](g, 0, 8443, 70000), Scheme: pick(g, "", "https")}
	case 2:
		body := pick(g, "", "hello", "x\x00y")
		hr.DirectResponse = &networking.HTTPDirectResponse{Status: pick[uint32](g, 200, 0, 999, 503), Body: &networking.HTTPBody{String: &body}}
	case 3:
		hr.Delegate = &networking.Delegate{Name: pick(g, "r1", "r2", "reviews"), Namespace: pick(g, fuzzNamespaces...)}
	default:
		hr.Route = times(1+g.n(3), func() *networking.HTTPRouteDestination {
			d := &networking.HTTPRouteDestination{Destination: g.destination(), Weight: pick[int32](g, 0, 50, 100, -1, 1000)}
			if g.maybe() {
				d.Headers = g.headers()
			}
			return d
		})
	}
	hr.Timeout = pick(g, fuzzDurations...)
	if g.maybe() {
		hr.Retries = &networking.HTTPRetry{Attempts: pick(g, fuzzInt32s...), PerTryTimeout: pick(g, fuzzDurations...),
			RetryOn: pick(g, "", "5xx,gateway-error", "unavailable", "bogus,,")}
	}
	if g.maybe() {
		hr.Fault = &networking.HTTPFaultInjection{
			Delay: &networking.Delay{FixedDelay: pick(g, fuzzDurations...), Percentage: &networking.Percent{Value: pick[float64](g, 0, 50, 100, 101, -1)}},
			Abort: &networking.Abort{HTTPStatus: pick(g, fuzzInt32s...), GRPCStatus: pick(g, "", "UNAVAILABLE", "BOGUS"),
				Percentage: &networking.Percent{Value: pick[float64](g, 0, 50, 100.5)}}}
	}
	if g.maybe() {
		hr.Mirrors = []*networking.HTTPMirrorPolicy{{Destination: g.destination(), Percentage: &networking.Percent{Value: pick[float64](g, 0, 50, 200)}}}
	}
	if g.maybe() {
		hr.CorsPolicy = &networking.CorsPolicy{AllowOrigins: []*networking.StringMatch{g.stringMatch()},
			AllowMethods: []string{pick(g, "GET", "", "G ET")}, AllowHeaders: []string{pick(g, fuzzHeaders...)},
			MaxAge: pick(g, fuzzDurations...)}
	}
	if g.maybe() {
		hr.Headers = g.headers()
	}
	if g.maybe() {
		hr.Rewrite = &networking.HTTPRewrite{URI: pick(g, "", "/new", "x\ny"), Authority: pick(g, "", "a.example.com", "bad\nauth")}
	}
	return hr
}

func (g *meshGen) headers() *networking.Headers {
	ops := func() *networking.HeaderOperations {
		return &networking.HeaderOperations{Set: map[string]string{pick(g, fuzzHeaders...): pick(g, "v", "", "a\nb")},
			Add: map[string]string{pick(g, fuzzHeaders...): "v"}, Remove: some(g, 1, func() string { return pick(g, fuzzHeaders...) })}
	}
	return &networking.Headers{Request: ops(), Response: pick(g, nil, ops())}
}

func (g *meshGen) gateway() *model.Gateway {
	spec := &networking.Gateway{Selector: map[string]string{"istio": pick(g, "ingressgateway", "other")}}
	spec.Servers = append([]*networking.Server{g.server()}, some(g, 2, g.server)...)
	m := g.meta(model.KindGateway)
	m.Name = pick(g, "gw", "gw2")
	return &model.Gateway{Meta: m, Spec: spec}
}

func (g *meshGen) sidecar() *model.SidecarResource {
	spec := &networking.Sidecar{}
	if g.n(3) == 0 {
		spec.WorkloadSelector = &networking.SidecarWorkloadSelector{Labels: map[string]string{"app": pick(g, "reviews", "productpage", "")}}
	}
	spec.Egress = some(g, 2, func() *networking.IstioEgressListener {
		e := &networking.IstioEgressListener{Hosts: append([]string{pick(g, "./*", "*/*", "~/*", "default/*", "*/reviews.default.svc.cluster.local")},
			some(g, 2, func() string {
				return pick(g, "istio-system/*", "~default/ratings.default.svc.cluster.local", "*/*.com", "./reviews", "bad")
			})...)}
		if g.n(2) == 0 {
			e.Port = &networking.SidecarPort{Number: pick[uint32](g, 9080, 9090, 80, 0), Protocol: pick(g, "HTTP", "TCP", "GRPC")}
		}
		return e
	})
	if g.n(2) == 0 {
		spec.OutboundTrafficPolicy = &networking.OutboundTrafficPolicy{Mode: pick(g, "REGISTRY_ONLY", "ALLOW_ANY", "")}
	}
	m := g.meta(model.KindSidecar)
	return &model.SidecarResource{Meta: m, Spec: spec}
}

func (g *meshGen) server() *networking.Server {
	s := &networking.Server{
		Port: &networking.Port{Number: pick[uint32](g, 80, 443, 80, 0, 70000), Name: pick(g, "http", "https", "http"),
			Protocol: pick(g, "HTTP", "HTTPS", "TLS", "TCP", "HTTP2", "GRPC", "BOGUS")},
		Bind:  pick(g, "", "", "0.0.0.0", "10.0.0.1", "not-an-ip"),
		Hosts: append([]string{pick(g, "*", "*/bookinfo.com", "./a.com", "default/*.example.com", "Foo.com", "foo.com")}, some(g, 1, func() string { return pick(g, "foo.com", "*") })...),
	}
	switch g.n(5) {
	case 1:
		s.TLS = &networking.ServerTLSSettings{Mode: "SIMPLE", ServerCertificate: pick(g, "/c.pem", ""), PrivateKey: "/k.pem",
			MinProtocolVersion: pick(g, "", "TLSV1_3", "BOGUS")}
	case 2:
		s.TLS = &networking.ServerTLSSettings{Mode: "PASSTHROUGH"}
	case 3:
		s.TLS = &networking.ServerTLSSettings{Mode: "MUTUAL", ServerCertificate: "/c.pem", PrivateKey: "/k.pem", CaCertificates: pick(g, "", "/ca.pem")}
	case 4:
		s.TLS = &networking.ServerTLSSettings{HTTPSRedirect: true}
	}
	return s
}

func (g *meshGen) serviceEntry() *model.ServiceEntry {
	spec := &networking.ServiceEntry{
		Hosts:      append([]string{pick(g, "api.example.com", "*.example.com", "reviews", "db")}, some(g, 1, func() string { return pick(g, fuzzHosts...) })...),
		Addresses:  some(g, 2, func() string { return pick(g, fuzzAddresses...) }),
		Resolution: pick(g, "NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", ""),
		Location:   pick(g, "", "MESH_INTERNAL"),
	}
	spec.Ports = some(g, 2, func() *networking.ServicePort {
		return &networking.ServicePort{Number: pick(g, fuzzPorts...), Name: pick(g, fuzzPortNames...),
			Protocol: pick(g, "HTTP", "TLS", "TCP", "GRPC", "HTTPS", "UDP"), TargetPort: pick[uint32](g, 0, 8443)}
	})
	if g.maybe() {
		spec.WorkloadSelector = &networking.EntryWorkloadSelector{Labels: map[string]string{"version": "v1"}}
	} else {
		spec.Endpoints = some(g, 2, func() *networking.WorkloadEntry {
			return &networking.WorkloadEntry{Address: pick(g, fuzzEndpointIPs...), Ports: map[string]uint32{pick(g, fuzzPortNames...): pick[uint32](g, 0, 8443, 70000)},
				Locality: pick(g, fuzzLocalities...), Weight: pick(g, fuzzUint32s...)}
		})
	}
	return &model.ServiceEntry{Meta: g.meta(model.KindServiceEntry), Spec: spec}
}

// proxies are the clients every generated mesh is translated for: a sidecar (whose IP some
// endpoints have, for its inbound side), the same without iptables, a router, and a gRPC client that
// asks for listeners named after the services.
func fuzzProxies(p model.Part) []fuzzProxy {
	sidecar := func() *model.Proxy {
		proxy, err := model.ParseNodeID("sidecar~" + fuzzProxyIP + "~productpage-v1.default~default.svc.cluster.local")
		if err != nil {
			panic(err)
		}
		proxy.Labels = map[string]string{"app": "productpage", "version": "v1"}
		proxy.Locality = model.Locality{Region: "eu", Zone: "z1"}
		return proxy
	}
	none := sidecar()
	none.InterceptionMode = model.InterceptionNone
	router, err := model.ParseNodeID("router~10.1.0.100~ingress-1.default~default.svc.cluster.local")
	if err != nil {
		panic(err)
	}
	router.Labels = map[string]string{"istio": "ingressgateway"}
	grpc := sidecar()
	grpc.Proxyless = true
	names := []string{"reviews:9080", "missing:1", "ratings.default.svc.cluster.local"}
	for _, svc := range p.Services {
		for _, port := range svc.Ports {
			names = append(names, fmt.Sprintf("%s:%d", svc.Hostname, port.Port))
		}
	}
	core, js := grpcCore51.on(*grpc), grpcJS1141.on(*grpc)
	grpc = grpcGo185.on(*grpc)
	return []fuzzProxy{{"sidecar", sidecar(), nil}, {"sidecar without iptables", none, nil}, {"router", router, nil},
		{"gRPC client", grpc, names}, {coreProxyName, core, names}, {jsProxyName, js, names}}
}

type fuzzProxy struct {
	name      string
	proxy     *model.Proxy
	listeners []string
}
