// Package bookinfo_test checks that the bookinfo manifests load cleanly and route as their comments
// say, so that the example cannot rot silently when the adapter or the translator changes.
package bookinfo_test

import (
	"slices"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

const (
	reviewsTarget = "reviews.default.svc.cluster.local:9080"
	reviewsV1     = "outbound|9080|v1|reviews.default.svc.cluster.local"
	reviewsV2     = "outbound|9080|v2|reviews.default.svc.cluster.local"
)

// snapshot loads this directory the way `pilot-discovery --config-dir examples/bookinfo` does.
func snapshot(t *testing.T) *model.Snapshot {
	t.Helper()
	a := file.New(".", k8s.Options{DomainSuffix: "cluster.local"}, zap.NewNop())
	if err := a.Load(); err != nil {
		t.Fatal(err)
	}
	part := a.Part()
	for _, r := range part.Rejections {
		t.Errorf("rejected: %s %s/%s (%s): %s", r.Kind, r.Namespace, r.Name, r.Source, r.Reason)
	}
	if got := len(part.Services); got != 4 {
		t.Errorf("services: got %d, want 4", got)
	}
	if got := len(part.VirtualServices); got != 4 {
		t.Errorf("VirtualServices: got %d, want 4", got)
	}
	if got := len(part.DestinationRules); got != 4 {
		t.Errorf("DestinationRules: got %d, want 4", got)
	}
	want := map[string]string{ // address → version label, from the table in workloads.yaml
		"127.0.0.10": "v1", "127.0.0.11": "v1", "127.0.0.21": "v1", "127.0.0.22": "v2", "127.0.0.23": "v3", "127.0.0.31": "v1",
	}
	if len(part.Endpoints) != len(want) {
		t.Errorf("endpoints: got %d, want %d", len(part.Endpoints), len(want))
	}
	for _, ep := range part.Endpoints {
		if v, ok := want[ep.Address]; !ok || ep.Labels["version"] != v || ep.Port != 9080 || !ep.Ready {
			t.Errorf("endpoint %s %s:%d labels %v ready %v: want version %q, port 9080, ready", ep.Service, ep.Address, ep.Port, ep.Labels, ep.Ready, v)
		}
	}
	return model.NewSnapshot("cluster.local", 1, time.Now(), part)
}

func proxy(t *testing.T, id string) *model.Proxy {
	t.Helper()
	p, err := model.ParseNodeID(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProxylessReviews is what the gRPC demo's client gets for xds:///reviews...:9080: it is grpc-go,
// this module's version, which says so in its user agent.
func TestProxylessReviews(t *testing.T) {
	p := proxy(t, "sidecar~127.0.0.1~demo-client.default~default.svc.cluster.local")
	p.Proxyless, p.ClientName, p.ClientVersion = true, "gRPC Go", grpc.Version
	res := translate.ForProxy(snapshot(t), p, []string{reviewsTarget})
	for _, w := range res.Warnings {
		t.Errorf("warning: %s", w)
	}
	if len(res.Listeners) != 1 || res.Listeners[0].Name != reviewsTarget {
		t.Fatalf("listeners: got %v, want one named %s", names(res.Listeners), reviewsTarget)
	}
	if len(res.Routes) != 1 || len(res.Routes[0].VirtualHosts) != 1 {
		t.Fatalf("want one route config with one virtual host, got %v", res.Routes)
	}
	checkReviewsRoutes(t, res.Routes[0].VirtualHosts[0].Routes)

	endpoints := map[string][]string{}
	for _, cla := range res.Endpoints {
		for _, lle := range cla.Endpoints {
			for _, e := range lle.LbEndpoints {
				sa := e.GetEndpoint().GetAddress().GetSocketAddress()
				endpoints[cla.ClusterName] = append(endpoints[cla.ClusterName], sa.GetAddress())
			}
		}
	}
	if got := endpoints[reviewsV1]; !slices.Equal(got, []string{"127.0.0.21"}) {
		t.Errorf("%s endpoints: got %v, want [127.0.0.21]", reviewsV1, got)
	}
	if got := endpoints[reviewsV2]; !slices.Equal(got, []string{"127.0.0.22"}) {
		t.Errorf("%s endpoints: got %v, want [127.0.0.22]", reviewsV2, got)
	}
}

// TestEnvoySidecar is what examples/envoy/bootstrap.yaml gets: one bound HTTP listener on 9080 whose
// route config has a virtual host per service.
func TestEnvoySidecar(t *testing.T) {
	p := proxy(t, "sidecar~127.0.0.1~productpage-v1.default~default.svc.cluster.local")
	p.InterceptionMode = model.InterceptionNone
	p.Labels = map[string]string{"app": "productpage", "version": "v1"}
	res := translate.ForProxy(snapshot(t), p, nil)
	for _, w := range res.Warnings {
		t.Errorf("warning: %s", w)
	}
	var listener bool
	for _, l := range res.Listeners {
		if l.GetAddress().GetSocketAddress().GetPortValue() == 9080 {
			listener = true
			if !l.GetBindToPort().GetValue() {
				t.Errorf("listener %s does not bind its port with INTERCEPTION_MODE NONE", l.Name)
			}
		}
	}
	if !listener {
		t.Errorf("no listener on port 9080 among %v", names(res.Listeners))
	}
	var rc *routev3.RouteConfiguration
	for _, r := range res.Routes {
		if r.Name == "9080" {
			rc = r
		}
	}
	if rc == nil {
		t.Fatal(`no route config "9080"`)
	}
	hosts := map[string]*routev3.VirtualHost{}
	for _, vh := range rc.VirtualHosts {
		hosts[vh.Name] = vh
	}
	for _, svc := range []string{"productpage", "details", "reviews", "ratings"} {
		if hosts[svc+".default.svc.cluster.local:9080"] == nil {
			t.Errorf("route config 9080 has no virtual host for %s", svc)
		}
	}
	if vh := hosts[reviewsTarget]; vh != nil {
		if !slices.Contains(vh.Domains, "reviews") {
			t.Errorf("virtual host %s: domains %v lack the short name that curl -H 'Host: reviews' uses", vh.Name, vh.Domains)
		}
		checkReviewsRoutes(t, vh.Routes)
	}
}

// checkReviewsRoutes checks the reviews VirtualService: jason to v2, then 80/20 v1/v2.
func checkReviewsRoutes(t *testing.T, routes []*routev3.Route) {
	t.Helper()
	if len(routes) != 2 {
		t.Fatalf("reviews: got %d routes, want 2 (jason, then the split)", len(routes))
	}
	jason := routes[0]
	h := jason.GetMatch().GetHeaders()
	if len(h) != 1 || h[0].GetName() != "end-user" || h[0].GetStringMatch().GetExact() != "jason" {
		t.Errorf("first route should match end-user: jason exactly, got %v", jason.GetMatch())
	}
	if got := jason.GetRoute().GetCluster(); got != reviewsV2 {
		t.Errorf("jason's route: got cluster %q, want %q", got, reviewsV2)
	}
	weights := map[string]uint32{}
	for _, c := range routes[1].GetRoute().GetWeightedClusters().GetClusters() {
		weights[c.Name] = c.GetWeight().GetValue()
	}
	if len(weights) != 2 || weights[reviewsV1] != 80 || weights[reviewsV2] != 20 {
		t.Errorf("second route: got weights %v, want %s 80 and %s 20", weights, reviewsV1, reviewsV2)
	}
}

func names[T interface{ GetName() string }](items []T) []string {
	out := make([]string, 0, len(items))
	for _, i := range items {
		out = append(out, i.GetName())
	}
	return out
}
