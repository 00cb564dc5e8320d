package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
	"github.com/minipilot/minipilot/xds/translate"
)

// rawStream is a SotW ADS stream driven by hand, request by request, as a gRPC client drives it.
type rawStream struct {
	t         *testing.T
	stream    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node      *corev3.Node
	responses chan *discoveryv3.DiscoveryResponse
	nonces    map[string]string
}

func (f *fixture) rawGRPCStream(nodeID string) *rawStream {
	return f.rawStream(context.Background(), nodeID, map[string]any{"GENERATOR": "grpc"})
}

// rawStream opens an ADS stream for a node with the given metadata; it ends with ctx.
func (f *fixture) rawStream(ctx context.Context, nodeID string, metadata map[string]any) *rawStream {
	f.t.Helper()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(f.conn).StreamAggregatedResources(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	meta, _ := structpb.NewStruct(metadata)
	s := &rawStream{t: f.t, stream: stream, node: &corev3.Node{Id: nodeID, Metadata: meta},
		responses: make(chan *discoveryv3.DiscoveryResponse, 16), nonces: map[string]string{}}
	go func() {
		defer close(s.responses)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			s.responses <- resp
		}
	}()
	f.t.Cleanup(func() { _ = stream.CloseSend() })
	return s
}

// ask sends a request for names of a type, answering (ACKing) the type's last response.
func (s *rawStream) ask(typeURL string, names ...string) {
	s.t.Helper()
	if err := s.stream.Send(&discoveryv3.DiscoveryRequest{Node: s.node, TypeUrl: typeURL, ResourceNames: names,
		ResponseNonce: s.nonces[typeURL]}); err != nil {
		s.t.Fatal(err)
	}
}

// next waits for the next response of a type (others are recorded and dropped); nil after within.
func (s *rawStream) next(typeURL string, within time.Duration) *discoveryv3.DiscoveryResponse {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case resp, ok := <-s.responses:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			s.nonces[resp.TypeUrl] = resp.Nonce
			if resp.TypeUrl == typeURL {
				return resp
			}
		case <-deadline:
			return nil
		}
	}
}

func clusterNames(t *testing.T, resp *discoveryv3.DiscoveryResponse) []string {
	t.Helper()
	var out []string
	for _, a := range resp.Resources {
		var c clusterv3.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c.Name)
	}
	return out
}

// TestResubscribedClusterIsSentAgain: a gRPC client drops a cluster from its cache when it stops
// watching it, so when it watches it again the cluster must be sent again — even though the routes
// it runs kept the cluster in the set the server decided for it (make-before-break), so that set's
// version did not change. Before, nothing was sent, and grpc-go declared the cluster removed when
// its 15 s watch timer ran out, failing every RPC routed to it.
func TestResubscribedClusterIsSentAgain(t *testing.T) {
	part := bookinfo()
	part.VirtualServices = []*model.VirtualService{{
		Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
		Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
			Route: []*networking.HTTPRouteDestination{
				{Destination: &networking.Destination{Host: "reviews"}, Weight: 50},
				{Destination: &networking.Destination{Host: "productpage"}, Weight: 50},
			},
		}}},
	}}
	f := start(t, part)
	s := f.rawGRPCStream("sidecar~10.1.0.50~client.default~default.svc.cluster.local")
	const listener = "reviews.default.svc.cluster.local:9080"
	reviews, productpage := "outbound|9080||reviews.default.svc.cluster.local", "outbound|9080||productpage.default.svc.cluster.local"

	s.ask(resourcev3.ListenerType, listener)
	if s.next(resourcev3.ListenerType, 10*time.Second) == nil {
		t.Fatal("no listener")
	}
	s.ask(resourcev3.ListenerType, listener)
	s.ask(resourcev3.RouteType, listener)
	if s.next(resourcev3.RouteType, 10*time.Second) == nil {
		t.Fatal("no route config")
	}
	s.ask(resourcev3.RouteType, listener)
	s.ask(resourcev3.ClusterType, productpage, reviews)
	first := s.next(resourcev3.ClusterType, 10*time.Second)
	if first == nil || !slices.Equal(clusterNames(t, first), []string{productpage, reviews}) {
		t.Fatalf("want both clusters first, got %v", first)
	}
	s.ask(resourcev3.ClusterType, productpage, reviews) // ACK

	// The client stops watching productpage (its routes changed, say) and then watches it again.
	s.ask(resourcev3.ClusterType, reviews)
	if resp := s.next(resourcev3.ClusterType, 300*time.Millisecond); resp != nil {
		s.ask(resourcev3.ClusterType, reviews) // ACK whatever came
	}
	s.ask(resourcev3.ClusterType, productpage, reviews)
	resp := s.next(resourcev3.ClusterType, 5*time.Second)
	if resp == nil {
		t.Fatal("the cluster watched again was never sent again: the client would call it removed")
	}
	if got := clusterNames(t, resp); !slices.Contains(got, productpage) {
		t.Fatalf("the response to the new watch lacks %s: %v", productpage, got)
	}
}

// TestRefusedResourceIsReportedOnItsRule: when a proxy refuses a route config, the VirtualService
// it was built from hears of it once (ReportRejection: a Kubernetes Event, with the kube source),
// naming proxy, resource and error; a second proxy refusing the same is not reported again.
func TestRefusedResourceIsReportedOnItsRule(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		reports := make(chan translate.Warning, 16)
		part := bookinfo()
		part.VirtualServices = []*model.VirtualService{{
			Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
			Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
				Timeout: networking.NewDuration(7 * time.Second),
				Route:   []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews"}}},
			}}},
		}}
		f := startWith(t, part, server.Options{StageTimeout: time.Minute, ReportRejection: func(w translate.Warning) { reports <- w }})
		f.delta = delta
		refuse := adsc.Options{Reject: func(typeURL string, msgs []proto.Message) error {
			if typeURL == resourcev3.RouteType {
				return errors.New("route config 9080: route timeout 7s refused")
			}
			return nil
		}}
		for i := range 2 {
			refuse.NodeID = fmt.Sprintf("sidecar~10.1.0.%d~p%d.default~default.svc.cluster.local", 60+i, i)
			collect(t, f.dial(refuse), resourcev3.RouteType)
		}
		// The route config holds the reviews VirtualService's routes and productpage's default ones.
		var onRule []translate.Warning
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case w := <-reports:
				if w.Object.Kind == model.KindVirtualService {
					onRule = append(onRule, w)
				}
			case <-deadline:
				break wait
			case <-time.After(500 * time.Millisecond):
				if len(onRule) > 0 {
					break wait
				}
			}
		}
		if len(onRule) != 1 {
			t.Fatalf("the VirtualService was told %d times, want once: %+v", len(onRule), onRule)
		}
		if w := onRule[0]; w.Object.Name != "reviews" || w.Resource.Name != "9080" ||
			!strings.Contains(w.Message, "route timeout 7s refused") || !strings.Contains(w.Message, "sidecar~10.1.0.6") {
			t.Fatalf("reported %+v, want the reviews VirtualService told that a proxy refused route config 9080, and why", w)
		}
	})
}
