package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statusv3 "github.com/envoyproxy/go-control-plane/envoy/service/status/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
)

// debugAsk opens an ADS stream as istioctl does (a sidecar-shaped node without proxy metadata) and
// returns the answer to one debug request.
func debugAsk(t *testing.T, f *fixture, typeURL string, names ...string) *discoveryv3.DiscoveryResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(f.conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "sidecar~10.0.0.1~test-1.istio-system~istio-system.svc.cluster.local"}
	// istioctl's client sets a nonce of its own (the time) on its first request.
	req := &discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names, ResponseNonce: time.Now().String()}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	return resp
}

func TestIstioctlDebugTypes(t *testing.T) {
	f := start(t, bookinfo())
	c := f.dial(adsc.Options{})
	settle(t, c, allTypes...)

	resp := debugAsk(t, f, "istio.io/debug/syncz")
	if resp.GetControlPlane().GetIdentifier() == "" {
		t.Error("syncz carries no control_plane identifier; istioctl's ISTIOD column would say MISSING")
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("syncz lists %d proxies, want 1 (the debug stream itself is no proxy)", len(resp.Resources))
	}
	var cc statusv3.ClientConfig
	if err := resp.Resources[0].UnmarshalTo(&cc); err != nil {
		t.Fatal(err)
	}
	if cc.GetNode().GetId() != sidecarID || cc.GetNode().GetMetadata().GetFields()["NAMESPACE"].GetStringValue() != "default" {
		t.Errorf("node = %v", cc.GetNode())
	}
	if len(cc.GenericXdsConfigs) != 4 {
		t.Fatalf("%d types, want 4: %v", len(cc.GenericXdsConfigs), cc.GenericXdsConfigs)
	}
	for _, x := range cc.GenericXdsConfigs {
		if x.ConfigStatus != statusv3.ConfigStatus_SYNCED {
			t.Errorf("%s is %s, want SYNCED", x.TypeUrl, x.ConfigStatus)
		}
	}

	// istioctl names the proxy <pod>.<namespace>.
	resp = debugAsk(t, f, "istio.io/debug/config_dump", "productpage-v1.default")
	if len(resp.Resources) != 4 {
		t.Fatalf("config_dump has %d configs, want 4", len(resp.Resources))
	}
	var clusters adminv3.ClustersConfigDump
	if err := resp.Resources[0].UnmarshalTo(&clusters); err != nil {
		t.Fatal(err)
	}
	if len(clusters.DynamicActiveClusters) == 0 {
		t.Error("the config dump has no clusters")
	}
	if resp := debugAsk(t, f, "istio.io/debug/config_dump", "nobody.default"); len(resp.Resources) != 0 {
		t.Errorf("a dump of an unknown proxy has %d configs, want none (istioctl tries the next replica)", len(resp.Resources))
	}
}

func TestPushzRecordsSendsAndAcks(t *testing.T) {
	f := start(t, bookinfo())
	c := f.dial(adsc.Options{})
	settle(t, c, allTypes...)
	f.source.Update(func(p *model.Part) { p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.22", nil)) })
	settle(t, c, "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment")
	var last server.PushRecord
	waitFor(t, "the endpoint push to be acknowledged", func() bool {
		pushes := f.srv.Pushes()
		last = pushes[len(pushes)-1]
		return len(last.Streams) == 1 && last.Streams[0].Types["eds"] != nil && !last.Streams[0].ConvergedAt.IsZero()
	})
	if !last.EndpointsOnly || len(last.Services) != 1 || last.Streams[0].Node != sidecarID {
		t.Errorf("push = %+v", last)
	}
	if len(last.Streams[0].Types) != 1 {
		t.Errorf("an endpoint change sent %v, want eds alone", last.Streams[0].Types)
	}
}

func TestIstioMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := startWith(t, bookinfo(), server.Options{StageTimeout: time.Minute, Metrics: server.NewMetrics(reg)})
	c := f.dial(adsc.Options{Metadata: map[string]any{"ISTIO_VERSION": "1.31.0"}})
	settle(t, c, allTypes...)
	// A second proxy refuses its routes: a reject.
	refusing := f.dial(adsc.Options{NodeID: "sidecar~10.1.0.11~other.default~default.svc.cluster.local",
		Reject: func(typeURL string, _ []proto.Message) error {
			if strings.HasSuffix(typeURL, "RouteConfiguration") {
				return errors.New("refused for the test")
			}
			return nil
		}})
	settle(t, refusing, allTypes...)
	f.source.Update(func(p *model.Part) {
		p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.22", nil))
		p.VirtualServices = append(p.VirtualServices, &model.VirtualService{
			Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
			Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
				Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews"}}}}}},
		})
	})
	settle(t, c, "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment")
	waitFor(t, "every Istio metric to move", func() bool {
		got := gather(t, reg)
		for _, name := range []string{"pilot_xds", "pilot_xds_pushes", "pilot_proxy_convergence_time", "pilot_xds_push_time",
			"pilot_debounce_time", "pilot_push_triggers", "pilot_xds_config_size_bytes", "pilot_services", "pilot_virt_services",
			"pilot_total_xds_rejects"} {
			if got[name] == 0 {
				return false
			}
		}
		return true
	})
}

// gather sums each metric family's samples (counts for histograms).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] += m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return out
}
