package translate_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// Input the validator should refuse, or that no validator can see is wrong in combination, reaching
// the translator anyway: what the proxy gets must still be accepted whole, lose only what the bad
// object configures, and say which object that is.

const (
	ratingsCluster = "outbound|9080||ratings.default.svc.cluster.local"
	reviewsHost    = "reviews.default.svc.cluster.local"
	ratingsHost    = "ratings.default.svc.cluster.local"
)

func svc(name, vip string, ports ...model.Port) *model.Service {
	return &model.Service{Hostname: model.ServiceHostname(name, "default", "cluster.local"), Name: name, Namespace: "default",
		Address: vip, Resolution: model.ClientSideLB, Ports: ports}
}

func httpPort(name string, n uint32, proto model.Protocol) model.Port {
	return model.Port{Name: name, Port: n, Protocol: proto}
}

func ep(host, port, addr string, n uint32) *model.Endpoint {
	return &model.Endpoint{Service: host, ServicePort: port, Address: addr, Port: n, Ready: true}
}

// bookinfoPart is reviews and ratings on 9080, each with one endpoint.
func bookinfoPart() model.Part {
	return model.Part{
		Services: []*model.Service{
			svc("reviews", "10.96.0.2", httpPort("http", 9080, model.ProtocolHTTP)),
			svc("ratings", "10.96.0.3", httpPort("http", 9080, model.ProtocolHTTP)),
		},
		Endpoints: []*model.Endpoint{ep(reviewsHost, "http", "10.1.0.2", 9080), ep(ratingsHost, "http", "10.1.0.3", 9080)},
	}
}

func ruleMeta(kind model.Kind, name string) model.Meta {
	return model.Meta{Kind: kind, Namespace: "default", Name: name}
}

type robustnessCase struct {
	name      string
	part      func() model.Part
	proxyless bool
	// check says what the proxy must get.
	check func(t *testing.T, r *translate.Resources)
	// warning is a part of the message of the warning expected, on object and resource; "" for none.
	warning  string
	object   model.Meta
	resource translate.ResourceRef
}

func robustnessCases() []robustnessCase {
	reviewsObj := model.Meta{Kind: translate.KindService, Namespace: "default", Name: "reviews"}
	hugeRing := func() model.Part {
		p := bookinfoPart()
		p.DestinationRules = []*model.DestinationRule{{Meta: ruleMeta(model.KindDestinationRule, "reviews"),
			Spec: &networking.DestinationRule{Host: "reviews",
				TrafficPolicy: &networking.TrafficPolicy{LoadBalancer: hash(&networking.ConsistentHashLB{HTTPHeaderName: "x-user", MinimumRingSize: 1 << 40})},
				Subsets:       []*networking.Subset{{Name: "v1", Labels: map[string]string{"version": "v1"}}}}}}
		return p
	}
	return []robustnessCase{
		{
			name: "two ports of one number",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Ports = []model.Port{httpPort("http", 9080, model.ProtocolHTTP), httpPort("http2", 9080, model.ProtocolHTTP2)}
				p.Endpoints = append(p.Endpoints, ep(reviewsHost, "http2", "10.1.0.9", 9080))
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				if c := cluster(r, reviewsCluster); c.Name == "" || c.TypedExtensionProtocolOptions != nil {
					t.Errorf("want %s once, as port http (HTTP/1.1) declares it, got %v", reviewsCluster, c)
				}
				if got := endpointAddresses(cla(r, reviewsCluster)); !slices.Equal(got, []string{"10.1.0.2"}) {
					t.Errorf("%s endpoints: want port http's [10.1.0.2], got %v", reviewsCluster, got)
				}
				if vhs := serviceRouteConfig(r, "9080").GetVirtualHosts(); len(vhs) != 2 {
					t.Errorf("route 9080: want a virtual host each for ratings and reviews, got %d", len(vhs))
				}
			},
			warning: `spec.ports[1].port: 9080 ("http2") repeats the number of spec.ports[0] ("http")`,
			object:  reviewsObj,
		},
		{
			name: "two ports of one number, gRPC client",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Ports = []model.Port{httpPort("grpc", 9080, model.ProtocolGRPC), httpPort("http", 9080, model.ProtocolHTTP)}
				return p
			},
			proxyless: true,
			check: func(t *testing.T, r *translate.Resources) {
				if len(r.Clusters) != 1 || r.Clusters[0].Name != reviewsCluster || len(r.Endpoints) != 1 {
					t.Errorf("want %s once with its endpoints, got clusters %v, %d endpoint sets", reviewsCluster, names(r.Clusters), len(r.Endpoints))
				}
			},
			warning: `spec.ports[1].port: 9080 ("http") repeats`,
			object:  reviewsObj,
		},
		{
			name: "a port number outside 1-65535",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Ports = append(p.Services[0].Ports, httpPort("big", 70000, model.ProtocolTCP))
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				if c := cluster(r, "outbound|70000||"+reviewsHost); c.Name != "" {
					t.Errorf("port 70000 got a cluster")
				}
				if l := listener(r, "10.96.0.2_70000"); l.Name != "" {
					t.Errorf("port 70000 got a listener")
				}
			},
			warning: `spec.ports[1].port: 70000 ("big") is outside 1-65535`,
			object:  reviewsObj,
		},
		{
			name: "a minimumRingSize Envoy refuses (2^40)",
			part: hugeRing,
			check: func(t *testing.T, r *translate.Resources) {
				for _, name := range []string{reviewsCluster, reviewsV1} {
					if cluster(r, name).Name != "" || cla(r, name).ClusterName != "" {
						t.Errorf("%s is sent although it fails validation", name)
					}
				}
				if cluster(r, ratingsCluster).Name == "" || cla(r, ratingsCluster).ClusterName == "" {
					t.Errorf("ratings lost its cluster or endpoints over the reviews DestinationRule")
				}
				// The route stays: Envoy answers 503 for a cluster it does not have, rather than
				// the request falling to another route.
				if got := routeClusters(serviceRouteConfig(r, "9080")); !slices.Equal(got, []string{ratingsCluster, reviewsCluster}) {
					t.Errorf("route 9080 leads to %v, want both services' clusters", got)
				}
			},
			warning:  "cluster " + reviewsCluster + " left out: it fails validation",
			object:   ruleMeta(model.KindDestinationRule, "reviews"),
			resource: translate.ResourceRef{Type: translate.ClusterResource, Name: reviewsCluster},
		},
		{
			name:      "a minimumRingSize Envoy refuses (2^40), gRPC client",
			part:      hugeRing,
			proxyless: true,
			check: func(t *testing.T, r *translate.Resources) {
				if len(r.Clusters) != 0 || len(r.Endpoints) != 0 || len(r.Listeners) != 1 || len(r.Routes) != 1 {
					t.Errorf("want the listener and route without the refused cluster, got clusters %v, %d endpoint sets, %d listeners, %d routes",
						names(r.Clusters), len(r.Endpoints), len(r.Listeners), len(r.Routes))
				}
			},
			warning:  "cluster " + reviewsCluster + " left out: it fails validation",
			object:   ruleMeta(model.KindDestinationRule, "reviews"),
			resource: translate.ResourceRef{Type: translate.ClusterResource, Name: reviewsCluster},
		},
		{
			name: "two services with one virtual IP",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Address = "10.96.0.3"
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				vhs := serviceRouteConfig(r, "9080").GetVirtualHosts()
				if len(vhs) != 2 {
					t.Fatalf("route 9080: want both virtual hosts, got %d", len(vhs))
				}
				ratings, reviews := vhs[0], vhs[1]
				if !slices.Contains(ratings.Domains, "10.96.0.3") || slices.Contains(reviews.Domains, "10.96.0.3") ||
					!slices.Contains(reviews.Domains, reviewsHost) {
					t.Errorf("want 10.96.0.3 in the first virtual host (ratings) only, got %v / %v", ratings.Domains, reviews.Domains)
				}
			},
			warning: "domains 10.96.0.3, 10.96.0.3:9080 are already those of virtual host " + ratingsHost + ":9080",
			object:  reviewsObj,
		},
		{
			name: "an endpoint address that is not an IP, and a port above 65535",
			part: func() model.Part {
				p := bookinfoPart()
				p.Endpoints = append(p.Endpoints, ep(reviewsHost, "http", "not-an-ip", 9080), ep(reviewsHost, "http", "10.1.0.7", 70000))
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				if got := endpointAddresses(cla(r, reviewsCluster)); !slices.Equal(got, []string{"10.1.0.2"}) {
					t.Errorf("%s endpoints: want the valid one, [10.1.0.2], got %v", reviewsCluster, got)
				}
			},
			warning:  `endpoint "not-an-ip" port 9080 left out: not an IP address`,
			object:   reviewsObj,
			resource: translate.ResourceRef{Type: translate.EndpointsResource, Name: reviewsCluster},
		},
		{
			name: "a hostname with a newline",
			part: func() model.Part {
				p := bookinfoPart()
				bad := svc("bad", "10.96.0.4", httpPort("http", 9080, model.ProtocolHTTP))
				bad.Hostname = "bad\nname.default.svc.cluster.local"
				p.Services = append(p.Services, bad)
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				vhs := serviceRouteConfig(r, "9080").GetVirtualHosts()
				if len(vhs) != 3 || !slices.Contains(vhs[1].Domains, ratingsHost) || !slices.Contains(vhs[2].Domains, reviewsHost) {
					t.Fatalf("route 9080: want the ratings and reviews virtual hosts whole, got %v", vhs)
				}
				if want := []string{"bad", "bad:9080", "10.96.0.4", "10.96.0.4:9080"}; !slices.Equal(vhs[0].Domains, want) {
					t.Errorf("virtual host %q: want only the domains without a newline, %q; got %q", vhs[0].Name, want, vhs[0].Domains)
				}
			},
			warning:  "virtual host bad\nname.default.svc.cluster.local:9080: domains \"bad\\nname.default.svc.cluster.local\"",
			object:   model.Meta{Kind: translate.KindService, Namespace: "default", Name: "bad"},
			resource: translate.ResourceRef{Type: translate.RouteResource, Name: "9080"},
		},
		{
			name: "a subset without a name",
			part: func() model.Part {
				p := bookinfoPart()
				p.DestinationRules = []*model.DestinationRule{{Meta: ruleMeta(model.KindDestinationRule, "reviews"),
					Spec: &networking.DestinationRule{Host: "reviews", Subsets: []*networking.Subset{
						{Name: "", Labels: map[string]string{"version": "v2"}}, {Name: "v1"}}}}}
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				if c := cluster(r, reviewsCluster); c.Name == "" || cluster(r, reviewsV1).Name == "" {
					t.Errorf("want %s and %s", reviewsCluster, reviewsV1)
				}
				if got := endpointAddresses(cla(r, reviewsCluster)); !slices.Equal(got, []string{"10.1.0.2"}) {
					t.Errorf("%s endpoints: want all of the service's, got %v", reviewsCluster, got)
				}
			},
			warning: "spec.subsets[0].name is empty",
			object:  ruleMeta(model.KindDestinationRule, "reviews"),
		},
		{
			name: "TLS routes whose SNI hosts overlap",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services = append(p.Services, &model.Service{Hostname: "api.example.com", Name: "api.example.com", Namespace: "default",
					Resolution: model.DNSLB, Ports: []model.Port{{Name: "tls", Port: 443, Protocol: model.ProtocolTLS}}})
				route := func(sni ...string) []*networking.TLSRoute {
					return []*networking.TLSRoute{{Match: []*networking.TLSMatchAttributes{{SniHosts: sni}},
						Route: []*networking.RouteDestination{{Destination: &networking.Destination{Host: "api.example.com"}}}}}
				}
				p.VirtualServices = []*model.VirtualService{
					{Meta: ruleMeta(model.KindVirtualService, "first"), Spec: &networking.VirtualService{Hosts: []string{"api.example.com"}, TLS: route("a.example.com", "b.example.com")}},
					{Meta: ruleMeta(model.KindVirtualService, "second"), Spec: &networking.VirtualService{Hosts: []string{"api.example.com"}, TLS: route("b.example.com", "c.example.com")}},
				}
				p.VirtualServices[1].CreationTimestamp = time.Unix(1, 0)
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				var got [][]string
				for _, c := range listener(r, "0.0.0.0_443").FilterChains {
					got = append(got, c.GetFilterChainMatch().GetServerNames())
				}
				if len(got) != 2 || !slices.Equal(got[0], []string{"a.example.com", "b.example.com"}) || !slices.Equal(got[1], []string{"c.example.com"}) {
					t.Errorf("want chains for [a b] then [c], got %q", got)
				}
			},
			warning:  "already takes SNI b.example.com",
			object:   ruleMeta(model.KindVirtualService, "second"),
			resource: translate.ResourceRef{Type: translate.ListenerResource, Name: "0.0.0.0_443"},
		},
		{
			name: "a consistentHash header name Envoy refuses",
			part: func() model.Part {
				p := bookinfoPart()
				p.DestinationRules = []*model.DestinationRule{{Meta: ruleMeta(model.KindDestinationRule, "reviews"),
					Spec: &networking.DestinationRule{Host: "reviews",
						TrafficPolicy: &networking.TrafficPolicy{LoadBalancer: hash(&networking.ConsistentHashLB{HTTPHeaderName: "x\nuser"})}}}}
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				// The route is the service's (or its VirtualService's): it stays, without the key.
				for _, vh := range serviceRouteConfig(r, "9080").GetVirtualHosts() {
					if vh.Name == reviewsHost+":9080" && (len(vh.Routes) != 1 || vh.Routes[0].GetRoute().GetHashPolicy() != nil) {
						t.Errorf("want the reviews route without a hash policy, got %v", vh.Routes)
					}
				}
				if cluster(r, reviewsCluster).LbPolicy != clusterv3.Cluster_RING_HASH {
					t.Errorf("want the cluster's ring hash balancer kept")
				}
			},
			warning: "the consistentHash key of " + reviewsHost + " is left out of its routes",
			object:  ruleMeta(model.KindDestinationRule, "reviews"),
		},
		{
			name: "a TCP maxConnectionDuration Envoy refuses",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Ports = []model.Port{{Name: "tcp", Port: 3306, Protocol: model.ProtocolTCP}}
				p.DestinationRules = []*model.DestinationRule{{Meta: ruleMeta(model.KindDestinationRule, "reviews"),
					Spec: &networking.DestinationRule{Host: "reviews", TrafficPolicy: &networking.TrafficPolicy{
						ConnectionPool: pool(&networking.TCPSettings{MaxConnectionDuration: networking.NewDuration(time.Microsecond)}, nil)}}}}
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				proxy := firstTCPProxy(listener(r, "10.96.0.2_3306"))
				if proxy.GetCluster() != "outbound|3306||"+reviewsHost || proxy.MaxDownstreamConnectionDuration != nil {
					t.Errorf("want the listener's TCP proxy to the service without the duration, got %v", proxy)
				}
			},
			warning: "are left out of the TCP proxy to " + reviewsHost,
			object:  ruleMeta(model.KindDestinationRule, "reviews"),
		},
		{
			name: "an endpoint of the sidecar's own workload on port 70000",
			part: func() model.Part {
				p := bookinfoPart()
				p.Endpoints = append(p.Endpoints, ep(reviewsHost, "http", "10.1.0.10", 70000), ep(ratingsHost, "http", "10.1.0.10", 9080))
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				var ports []uint32
				for _, c := range listener(r, translate.VirtualInboundListener).FilterChains {
					if p := c.GetFilterChainMatch().GetDestinationPort(); p != nil {
						ports = append(ports, p.Value)
					}
				}
				if !slices.Equal(ports, []uint32{9080}) || cluster(r, "inbound|9080||").Name == "" {
					t.Errorf("want the inbound side for port 9080 alone, got chains for %v", ports)
				}
			},
			warning:  `endpoint 10.1.0.10 of ` + reviewsHost + ` port "http" has port 70000`,
			object:   reviewsObj,
			resource: translate.ResourceRef{Type: translate.ListenerResource, Name: translate.VirtualInboundListener},
		},
		{
			name: "endpoint weights that overflow a uint32 together",
			part: func() model.Part {
				p := bookinfoPart()
				p.Endpoints = append(p.Endpoints, ep(reviewsHost, "http", "10.1.0.7", 9080), ep(reviewsHost, "http", "10.1.0.8", 9080))
				for _, e := range p.Endpoints[2:] {
					e.Weight = math.MaxUint32
				}
				p.Endpoints[0].Weight = math.MaxUint32 / 2
				return p
			},
			check: func(t *testing.T, r *translate.Resources) {
				lle := cla(r, reviewsCluster).GetEndpoints()
				if len(lle) != 1 || len(lle[0].LbEndpoints) != 3 {
					t.Fatalf("want the three endpoints in one locality, got %v", lle)
				}
				var ws []uint32
				for _, e := range lle[0].LbEndpoints {
					ws = append(ws, e.GetLoadBalancingWeight().GetValue())
				}
				if ws[1] != ws[2] || ws[0] < ws[1]/2-1 || ws[0] > ws[1]/2+1 {
					t.Errorf("weights %v: want the ratio 1:2:2 kept", ws)
				}
			},
		},
		{
			name: "a gRPC client's DNS service without endpoints",
			part: func() model.Part {
				p := bookinfoPart()
				p.Services[0].Resolution = model.DNSLB
				p.Endpoints = p.Endpoints[1:]
				return p
			},
			proxyless: true,
			check: func(t *testing.T, r *translate.Resources) {
				if len(r.Clusters) != 0 || len(r.Listeners) != 1 {
					t.Errorf("want the listener without a LOGICAL_DNS cluster that has no host, got clusters %v", names(r.Clusters))
				}
			},
			warning:  "a LOGICAL_DNS cluster resolves exactly one name",
			object:   reviewsObj,
			resource: translate.ResourceRef{Type: translate.ClusterResource, Name: reviewsCluster},
		},
	}
}

func TestBadInputCostsOnlyItsOwnResources(t *testing.T) {
	for _, tc := range robustnessCases() {
		t.Run(tc.name, func(t *testing.T) {
			proxy, err := model.ParseNodeID("sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local")
			if err != nil {
				t.Fatal(err)
			}
			proxy.Proxyless = tc.proxyless
			snap := model.NewSnapshot("cluster.local", 1, time.Time{}, tc.part())
			r := translate.ForProxy(snap, proxy, []string{reviewsHost + ":9080"})
			checkSendable(t, r)
			tc.check(t, r)
			if tc.warning == "" {
				return
			}
			i := slices.IndexFunc(r.Details, func(w translate.Warning) bool { return strings.Contains(w.Message, tc.warning) })
			if i < 0 {
				t.Fatalf("no warning says %q; got %q", tc.warning, r.Warnings)
			}
			w := r.Details[i]
			if w.Object.Kind != tc.object.Kind || w.Object.Namespace != tc.object.Namespace || w.Object.Name != tc.object.Name {
				t.Errorf("warning %q is about %s %s/%s, want %s %s/%s", w.Message, w.Object.Kind, w.Object.Namespace, w.Object.Name,
					tc.object.Kind, tc.object.Namespace, tc.object.Name)
			}
			if tc.resource != (translate.ResourceRef{}) && w.Resource != tc.resource {
				t.Errorf("warning %q concerns %v, want %v", w.Message, w.Resource, tc.resource)
			}
			if r.Warnings[i] != w.String() || len(r.Warnings) != len(r.Details) {
				t.Errorf("Warnings and Details disagree: %q vs %v", r.Warnings, r.Details)
			}
		})
	}
}

// checkSendable fails the test for what a client would refuse the response for (fuzz_test.go).
func checkSendable(t *testing.T, r *translate.Resources) {
	t.Helper()
	for _, problem := range unsendable(r) {
		t.Error(problem)
	}
}

func endpointAddresses(c *endpointv3.ClusterLoadAssignment) []string {
	var out []string
	for _, lle := range c.GetEndpoints() {
		for _, e := range lle.GetLbEndpoints() {
			out = append(out, e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
		}
	}
	slices.Sort(out)
	return out
}

func routeClusters(rc *routev3.RouteConfiguration) []string {
	if rc == nil {
		return nil
	}
	return translate.RouteClusters(rc)
}

func names(cs []*clusterv3.Cluster) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
