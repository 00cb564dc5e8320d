// Package samples_test checks that Istio's bookinfo routing samples give the routes Istio's
// documentation describes for them.
package samples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.uber.org/zap"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// route is what a test expects of one Envoy route: who it matches, where it sends, what it injects.
type route struct {
	jason   bool           // matches the header end-user: jason (else everything)
	weights map[string]int // subset → weight
	delay   time.Duration
	abort   uint32
}

func to(subset string) map[string]int { return map[string]int{subset: 100} }

func TestSamples(t *testing.T) {
	cases := []struct {
		sample string
		want   map[string][]route // service → its routes, in order
	}{
		{"virtual-service-all-v1.yaml", map[string][]route{
			"productpage": {{weights: to("v1")}}, "reviews": {{weights: to("v1")}},
			"ratings": {{weights: to("v1")}}, "details": {{weights: to("v1")}}}},
		{"virtual-service-reviews-test-v2.yaml", map[string][]route{
			"reviews": {{jason: true, weights: to("v2")}, {weights: to("v1")}}}},
		{"virtual-service-reviews-50-v3.yaml", map[string][]route{
			"reviews": {{weights: map[string]int{"v1": 50, "v3": 50}}}}},
		{"virtual-service-reviews-v3.yaml", map[string][]route{
			"reviews": {{weights: to("v3")}}}},
		{"virtual-service-reviews-jason-v2-v3.yaml", map[string][]route{
			"reviews": {{jason: true, weights: to("v2")}, {weights: to("v3")}}}},
		{"virtual-service-ratings-test-delay.yaml", map[string][]route{
			"ratings": {{jason: true, weights: to("v1"), delay: 7 * time.Second}, {weights: to("v1")}}}},
		{"virtual-service-ratings-test-abort.yaml", map[string][]route{
			"ratings": {{jason: true, weights: to("v1"), abort: 500}, {weights: to("v1")}}}},
	}
	for _, tc := range cases {
		t.Run(tc.sample, func(t *testing.T) {
			routes := productpageRoutes(t, tc.sample)
			for svc, want := range tc.want {
				vh := virtualHost(routes, svc+".default.svc.cluster.local:9080")
				if vh == nil {
					t.Fatalf("no virtual host for %s", svc)
				}
				if len(vh.Routes) != len(want) {
					t.Fatalf("%s: %d routes, want %d", svc, len(vh.Routes), len(want))
				}
				for i, w := range want {
					check(t, svc, i, vh.Routes[i], w)
				}
			}
		})
	}
}

// productpageRoutes loads the bookinfo services and workloads, destination-rule-all and one sample,
// as `pilot-discovery --config-dir` would, and translates route config "9080" for productpage's sidecar.
func productpageRoutes(t *testing.T, sample string) *routev3.RouteConfiguration {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"../bookinfo/services.yaml", "../bookinfo/workloads.yaml", "destination-rule-all.yaml", sample} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := file.New(dir, k8s.Options{DomainSuffix: "cluster.local"}, zap.NewNop())
	if err := a.Load(); err != nil {
		t.Fatal(err)
	}
	part := a.Part()
	for _, r := range part.Rejections {
		t.Fatalf("%s rejected: %s", r.Source, r.Reason)
	}
	proxy, err := model.ParseNodeID("sidecar~127.0.0.10~productpage-v1.default~default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	res := translate.ForProxy(model.NewSnapshot("cluster.local", 1, time.Time{}, part), proxy, nil)
	for _, rc := range res.Routes {
		if rc.Name == "9080" {
			return rc
		}
	}
	t.Fatal("no route config 9080")
	return nil
}

func virtualHost(rc *routev3.RouteConfiguration, name string) *routev3.VirtualHost {
	for _, vh := range rc.VirtualHosts {
		if vh.Name == name {
			return vh
		}
	}
	return nil
}

func check(t *testing.T, svc string, i int, r *routev3.Route, w route) {
	t.Helper()
	jason := false
	for _, h := range r.GetMatch().GetHeaders() {
		jason = jason || h.Name == "end-user" && h.GetStringMatch().GetExact() == "jason"
	}
	if jason != w.jason || r.GetMatch().GetPrefix() != "/" {
		t.Errorf("%s route %d: matches jason %v (prefix %q), want %v", svc, i, jason, r.GetMatch().GetPrefix(), w.jason)
	}
	got := map[string]int{}
	action := r.GetRoute()
	if c := action.GetCluster(); c != "" {
		got[subsetOf(c)] = 100
	}
	for _, wc := range action.GetWeightedClusters().GetClusters() {
		got[subsetOf(wc.Name)] = int(wc.GetWeight().GetValue())
	}
	if len(got) != len(w.weights) {
		t.Errorf("%s route %d: sends to %v, want %v", svc, i, got, w.weights)
	}
	for subset, weight := range w.weights {
		if got[subset] != weight {
			t.Errorf("%s route %d: sends to %v, want %v", svc, i, got, w.weights)
		}
	}
	var fault faultv3.HTTPFault
	if cfg := r.GetTypedPerFilterConfig()["envoy.filters.http.fault"]; cfg != nil {
		if err := cfg.UnmarshalTo(&fault); err != nil {
			t.Fatal(err)
		}
	}
	if d := fault.GetDelay().GetFixedDelay().AsDuration(); d != w.delay {
		t.Errorf("%s route %d: delay %s, want %s", svc, i, d, w.delay)
	}
	if s := fault.GetAbort().GetHttpStatus(); s != w.abort {
		t.Errorf("%s route %d: abort %d, want %d", svc, i, s, w.abort)
	}
	if w.delay > 0 && !whole(fault.GetDelay().GetPercentage()) || w.abort > 0 && !whole(fault.GetAbort().GetPercentage()) {
		t.Errorf("%s route %d: the fault must apply to every request, got %v", svc, i, &fault)
	}
}

// subsetOf reads the subset of "outbound|<port>|<subset>|<host>".
func subsetOf(cluster string) string {
	if parts := strings.Split(cluster, "|"); len(parts) == 4 {
		return parts[2]
	}
	return ""
}

// whole says whether a fraction is 100%.
func whole(p *typev3.FractionalPercent) bool {
	denominators := map[typev3.FractionalPercent_DenominatorType]uint32{
		typev3.FractionalPercent_HUNDRED: 100, typev3.FractionalPercent_TEN_THOUSAND: 10000, typev3.FractionalPercent_MILLION: 1000000}
	return p.GetNumerator() == denominators[p.GetDenominator()]
}
