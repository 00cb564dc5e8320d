package translate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// policyMesh is the mesh the policy field tests start from: reviews (HTTP, subsets v1 and v2, in two
// localities), a TCP database with a tcp route, an external TLS API with a tls route, and a gateway
// with an HTTPS server and the VirtualService bound to it. Every object is there with nothing set
// that the tests set, so that one field at a time can be added.
const policyMesh = `
services:
- {hostname: reviews.default.svc.cluster.local, name: reviews, namespace: default, address: 10.96.0.11, resolution: ClientSideLB, ports: [{name: http, port: 9080, protocol: HTTP}]}
- {hostname: db.default.svc.cluster.local, name: db, namespace: default, address: 10.96.0.20, resolution: ClientSideLB, ports: [{name: tcp, port: 3306, protocol: TCP}]}
endpoints:
- {service: reviews.default.svc.cluster.local, servicePort: http, address: 10.1.0.21, port: 9080, ready: true, labels: {version: v1}, locality: {region: eu, zone: z1}}
- {service: reviews.default.svc.cluster.local, servicePort: http, address: 10.1.0.22, port: 9080, ready: true, labels: {version: v2}, locality: {region: us, zone: z1}}
- {service: reviews.default.svc.cluster.local, servicePort: http, address: 10.1.0.23, port: 9080, ready: true, labels: {version: v3}, locality: {region: ap, zone: z1}}
- {service: db.default.svc.cluster.local, servicePort: tcp, address: 10.1.0.40, port: 3306, ready: true, labels: {role: primary}}
- {service: db.default.svc.cluster.local, servicePort: tcp, address: 10.1.0.41, port: 3306, ready: true, labels: {role: replica}}
serviceEntries:
- name: api
  namespace: default
  spec: {hosts: [api.example.com], resolution: DNS, ports: [{number: 443, name: tls, protocol: TLS}]}
- name: backup
  namespace: default
  spec: {hosts: [backup.example.com], resolution: DNS, ports: [{number: 443, name: tls, protocol: TLS}]}
destinationRules:
- name: reviews
  namespace: default
  spec: {host: reviews, trafficPolicy: {}, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
- name: db
  namespace: default
  spec: {host: db, subsets: [{name: primary, labels: {role: primary}}, {name: replica, labels: {role: replica}}]}
virtualServices:
- name: db
  namespace: default
  spec: {hosts: [db], tcp: [{match: [{port: 3306}], route: [{destination: {host: db, subset: primary}}]}]}
- name: api
  namespace: default
  spec: {hosts: [api.example.com], tls: [{match: [{sniHosts: [api.example.com]}], route: [{destination: {host: backup.example.com}}]}]}
- name: ingress
  namespace: default
  spec: {hosts: [bookinfo.example.com], gateways: [gw], http: [{route: [{destination: {host: reviews}}]}]}
gateways:
- name: gw
  namespace: default
  spec:
    selector: {istio: ingressgateway}
    servers:
    - port: {number: 443, name: https, protocol: HTTPS}
      hosts: [bookinfo.example.com]
      tls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem}
`

// world is the mesh being changed, with handles on what the tests change.
type world struct {
	part    model.Part
	proxy   *model.Proxy
	reviews *networking.TrafficPolicy // the reviews DestinationRule's top-level policy
	dr      *networking.DestinationRule
	db      *networking.VirtualService
	api     *networking.VirtualService
	se      *networking.ServiceEntry
	gw      *networking.Gateway
}

const (
	reviewsCluster = "outbound|9080||reviews.default.svc.cluster.local"
	reviewsV1      = "outbound|9080|v1|reviews.default.svc.cluster.local"
	dbListener     = "10.96.0.20_3306"
	httpsRoutes    = "https.443.https.gw.default"
)

func newWorld(t *testing.T, kind model.ProxyType, proxyless bool) *world {
	t.Helper()
	w := &world{}
	if err := yaml.UnmarshalStrict([]byte(policyMesh), &w.part); err != nil {
		t.Fatal(err)
	}
	id := "sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local"
	if kind == model.Router {
		id = "router~10.1.0.100~ingress-1.default~default.svc.cluster.local"
	}
	proxy, err := model.ParseNodeID(id)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Labels, proxy.Proxyless = map[string]string{"istio": "ingressgateway", "app": "productpage"}, proxyless
	if proxyless {
		proxy.ClientName, proxy.ClientVersion = "gRPC Go", "1.85.0"
	}
	w.proxy = proxy
	w.dr, w.reviews = w.part.DestinationRules[0].Spec, w.part.DestinationRules[0].Spec.TrafficPolicy
	w.db, w.api = w.part.VirtualServices[0].Spec, w.part.VirtualServices[1].Spec
	w.se, w.gw = w.part.ServiceEntries[0].Spec, w.part.Gateways[0].Spec
	return w
}

func (w *world) translate(t *testing.T) *translate.Resources {
	t.Helper()
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, w.part)
	return translate.ForProxy(snap, w.proxy, []string{"reviews.default.svc.cluster.local:9080"})
}

// policyCase sets one field and says how to see its effect in the output.
type policyCase struct {
	field string
	set   func(w *world)
	shows func(r *translate.Resources) bool
}

func TestEveryPolicyFieldChangesTheOutput(t *testing.T) {
	for _, group := range []struct {
		name      string
		kind      model.ProxyType
		proxyless bool
		cases     []policyCase
	}{
		{"sidecar", model.Sidecar, false, sidecarCases()},
		{"gRPC", model.Sidecar, true, proxylessCases()},
		{"gateway", model.Router, false, gatewayCases()},
	} {
		for _, tc := range group.cases {
			t.Run(group.name+"/"+tc.field, func(t *testing.T) {
				base := newWorld(t, group.kind, group.proxyless)
				before := base.translate(t)
				changed := newWorld(t, group.kind, group.proxyless)
				tc.set(changed)
				after := changed.translate(t)
				if resourcesDiff(before, after) == "" {
					t.Fatalf("%s changed nothing", tc.field)
				}
				if tc.shows(before) {
					t.Fatalf("the check sees %s before it is set; it proves nothing", tc.field)
				}
				if !tc.shows(after) {
					t.Errorf("%s does not show as expected; warnings: %v", tc.field, after.Warnings)
				}
				for _, w := range after.Warnings {
					if containsAll(w, "fails validation") {
						t.Errorf("a resource was dropped: %s", w)
					}
				}
			})
		}
	}
}

func u32(v uint32) *uint32 { return &v }

func lb(simple string) *networking.LoadBalancerSettings {
	return &networking.LoadBalancerSettings{Simple: simple}
}

func hash(ch *networking.ConsistentHashLB) *networking.LoadBalancerSettings {
	return &networking.LoadBalancerSettings{ConsistentHash: ch}
}

func pool(tcp *networking.TCPSettings, http *networking.HTTPSettings) *networking.ConnectionPoolSettings {
	return &networking.ConnectionPoolSettings{TCP: tcp, HTTP: http}
}

func cluster(r *translate.Resources, name string) *clusterv3.Cluster {
	for _, c := range r.Clusters {
		if c.Name == name {
			return c
		}
	}
	return &clusterv3.Cluster{}
}

func cla(r *translate.Resources, name string) *endpointv3.ClusterLoadAssignment {
	for _, e := range r.Endpoints {
		if e.ClusterName == name {
			return e
		}
	}
	return &endpointv3.ClusterLoadAssignment{}
}

func listener(r *translate.Resources, name string) *listenerv3.Listener {
	for _, l := range r.Listeners {
		if l.Name == name {
			return l
		}
	}
	return &listenerv3.Listener{}
}

func routeConfig(r *translate.Resources, name string) *routev3.RouteConfiguration {
	for _, rc := range r.Routes {
		if rc.Name == name {
			return rc
		}
	}
	return &routev3.RouteConfiguration{}
}

func unpack[T proto.Message](a *anypb.Any, m T) T {
	if a != nil {
		_ = a.UnmarshalTo(m)
	}
	return m
}

func upstreamTLS(c *clusterv3.Cluster) *tlsv3.UpstreamTlsContext {
	return unpack(c.GetTransportSocket().GetTypedConfig(), &tlsv3.UpstreamTlsContext{})
}

func httpOptions(c *clusterv3.Cluster) *httpv3.HttpProtocolOptions {
	return unpack(c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"], &httpv3.HttpProtocolOptions{})
}

func thresholds(c *clusterv3.Cluster) *clusterv3.CircuitBreakers_Thresholds {
	if t := c.GetCircuitBreakers().GetThresholds(); len(t) > 0 {
		return t[0]
	}
	return &clusterv3.CircuitBreakers_Thresholds{}
}

// tcpProxies are the tcp_proxy filters of a listener, chain by chain.
func tcpProxies(l *listenerv3.Listener) []*tcpproxyv3.TcpProxy {
	var out []*tcpproxyv3.TcpProxy
	for _, c := range l.FilterChains {
		for _, f := range c.Filters {
			if f.Name == "envoy.filters.network.tcp_proxy" {
				out = append(out, unpack(f.GetTypedConfig(), &tcpproxyv3.TcpProxy{}))
			}
		}
	}
	return out
}

func firstTCPProxy(l *listenerv3.Listener) *tcpproxyv3.TcpProxy {
	if p := tcpProxies(l); len(p) > 0 {
		return p[0]
	}
	return &tcpproxyv3.TcpProxy{}
}

func downstreamTLS(l *listenerv3.Listener) *tlsv3.DownstreamTlsContext {
	for _, c := range l.FilterChains {
		if c.TransportSocket != nil {
			return unpack(c.TransportSocket.GetTypedConfig(), &tlsv3.DownstreamTlsContext{})
		}
	}
	return &tlsv3.DownstreamTlsContext{}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func warned(r *translate.Resources, parts ...string) bool {
	for _, w := range r.Warnings {
		if containsAll(w, parts...) {
			return true
		}
	}
	return false
}

// TestInboundNeedsInterception: without iptables (INTERCEPTION_MODE NONE) Istio builds no inbound
// side unless a Sidecar resource asks, and neither does minipilot; with it, the workload's port
// gets its chain and cluster.
func TestInboundNeedsInterception(t *testing.T) {
	w := newWorld(t, model.Sidecar, false)
	w.proxy.IPAddress = "10.1.0.21" // reviews-v1
	with := w.translate(t)
	if listener(with, translate.VirtualInboundListener).Name == "" || cluster(with, translate.InboundClusterName(9080)).Name == "" {
		t.Fatalf("a sidecar with iptables should get virtualInbound and inbound|9080||")
	}
	w.proxy.InterceptionMode = model.InterceptionNone
	without := w.translate(t)
	if listener(without, translate.VirtualInboundListener).Name != "" || cluster(without, translate.InboundClusterName(9080)).Name != "" {
		t.Fatalf("INTERCEPTION_MODE NONE should have no inbound side")
	}
}

// serviceRouteConfig is the route config of that name without its catch-all virtual host
// (allow_any or block_all, which every outbound route config ends with).
func serviceRouteConfig(r *translate.Resources, name string) *routev3.RouteConfiguration {
	rc := proto.Clone(routeConfig(r, name)).(*routev3.RouteConfiguration)
	rc.VirtualHosts = slices.DeleteFunc(rc.VirtualHosts, func(vh *routev3.VirtualHost) bool {
		return vh.Name == "allow_any" || vh.Name == "block_all"
	})
	return rc
}
