package server_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
)

const sidecarID = "sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local"

var typeOrder = map[string]int{resourcev3.ClusterType: 0, resourcev3.EndpointType: 1, resourcev3.ListenerType: 2, resourcev3.RouteType: 3}

type fixture struct {
	t      *testing.T
	source *memory.Source
	srv    *server.Server
	conn   *grpc.ClientConn
	addr   string
	fake   *clocktesting.FakeClock // nil for the real clock
	delta  bool                    // dial speaks Delta xDS
}

// forBoth runs a test over State of the World and over Delta xDS: every guarantee holds for both.
func forBoth(t *testing.T, test func(t *testing.T, delta bool)) {
	for _, delta := range []bool{false, true} {
		name := "sotw"
		if delta {
			name = "delta"
		}
		t.Run(name, func(t *testing.T) { test(t, delta) })
	}
}

func start(t *testing.T, part model.Part) *fixture {
	t.Helper()
	return startWith(t, part, server.Options{StageTimeout: time.Minute})
}

// startWith serves part over a real gRPC server on loopback, with the given server options.
func startWith(t *testing.T, part model.Part, opts server.Options) *fixture {
	t.Helper()
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now
	}
	store := model.NewStore("cluster.local", now)
	source := memory.New(store, "test")
	source.Replace(part)
	if opts.Log == nil {
		opts.Log = zaptest.NewLogger(t)
	}
	srv := server.New(store, opts)
	ctx, cancel := context.WithCancel(context.Background())
	g := srv.GRPCServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	ran := make(chan struct{})
	go func() { srv.Run(ctx); close(ran) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-ran // a push in progress logs; it must finish before the test does
		g.Stop()
		// Stop does not wait for the handlers; their last log lines must come before the test ends.
		waitFor(t, "the streams to close", func() bool { return len(srv.SyncStatus()) == 0 })
	})
	f := &fixture{t: t, source: source, srv: srv, conn: conn, addr: lis.Addr().String()}
	f.fake, _ = opts.Clock.(*clocktesting.FakeClock)
	waitFor(t, "the server to sync", func() bool { f.tick(); return srv.Ready() })
	return f
}

// tick lets a fake clock's debounce timer fire; with the real clock it does nothing.
func (f *fixture) tick() {
	if f.fake != nil {
		f.fake.Step(0)
	}
}

func (f *fixture) dial(opts adsc.Options) *adsc.Client {
	f.t.Helper()
	if opts.NodeID == "" {
		opts.NodeID = sidecarID
	}
	opts.Delta = opts.Delta || f.delta
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	c, err := adsc.Dial(ctx, f.conn, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// collect reads responses until want has been seen of every type in it, or fails after a deadline.
func collect(t *testing.T, c *adsc.Client, want ...string) []adsc.Response {
	t.Helper()
	var got []adsc.Response
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for {
		done := true
		for _, w := range want {
			done = done && seen[w]
		}
		if done {
			return got
		}
		select {
		case r, ok := <-c.Responses():
			if !ok {
				t.Fatalf("stream closed after %d responses", len(got))
			}
			got = append(got, r)
			seen[r.TypeURL] = true
		case <-deadline:
			t.Fatalf("timed out waiting for %v; got %v", want, types(got))
		}
	}
}

// settle reads responses until the exchange goes quiet, and checks that every type in want came.
func settle(t *testing.T, c *adsc.Client, want ...string) []adsc.Response {
	t.Helper()
	got := collect(t, c, want...)
	for {
		select {
		case r, ok := <-c.Responses():
			if !ok {
				t.Fatalf("stream closed")
			}
			got = append(got, r)
		case <-time.After(300 * time.Millisecond):
			return got
		}
	}
}

// quiet asserts that no response arrives for a while (the server has nothing to say).
func quiet(t *testing.T, c *adsc.Client, what string) {
	t.Helper()
	select {
	case r := <-c.Responses():
		t.Fatalf("%s: unexpected response %s version %s", what, short(r.TypeURL), r.Version)
	case <-time.After(500 * time.Millisecond):
	}
}

func assertOrdered(t *testing.T, rs []adsc.Response) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		if typeOrder[rs[i].TypeURL] < typeOrder[rs[i-1].TypeURL] {
			t.Fatalf("responses out of order (want CDS → EDS → LDS → RDS): %v", describe(rs))
		}
	}
}

func types(rs []adsc.Response) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = short(r.TypeURL)
	}
	return out
}

func short(url string) string { return url[strings.LastIndex(url, ".")+1:] }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func service(name string, port uint32) *model.Service {
	return &model.Service{
		Hostname: model.ServiceHostname(name, "default", "cluster.local"), Name: name, Namespace: "default",
		Address: "10.96.0.1", Ports: []model.Port{{Name: "http", Port: port, Protocol: model.ProtocolHTTP}},
	}
}

func endpoint(svc, addr string, labels map[string]string) *model.Endpoint {
	return &model.Endpoint{Service: model.ServiceHostname(svc, "default", "cluster.local"), ServicePort: "http",
		Address: addr, Port: 9080, Ready: true, Labels: labels}
}

func bookinfo() model.Part {
	return model.Part{
		Services:  []*model.Service{service("productpage", 9080), service("reviews", 9080)},
		Endpoints: []*model.Endpoint{endpoint("productpage", "10.1.0.10", nil), endpoint("reviews", "10.1.0.21", map[string]string{"version": "v1"})},
	}
}

func TestFirstConfigIsOrdered(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		c := f.dial(adsc.Options{})
		got := collect(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		assertOrdered(t, got)
		for _, r := range got {
			if r.Err != nil {
				t.Errorf("%s NACKed: %v", short(r.TypeURL), r.Err)
			}
		}
	})
}

func TestPushAddingAClusterIsOrdered(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		c := f.dial(adsc.Options{})
		collect(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		quiet(t, c, "after the first config")

		// A new service with a VirtualService that sends reviews traffic to it: the new cluster and its
		// endpoints must reach the proxy before the routes that use it.
		f.source.Update(func(p *model.Part) {
			p.Services = append(p.Services, service("reviews-canary", 9081)) // a new port: a new listener too
			p.Endpoints = append(p.Endpoints, endpoint("reviews-canary", "10.1.0.30", nil))
			p.VirtualServices = append(p.VirtualServices, &model.VirtualService{
				Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
				Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
					Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews-canary"}}},
				}}},
			})
		})
		got := settle(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		assertOrdered(t, got)
		routes := c.Resources(resourcev3.RouteType)
		if !strings.Contains(routesText(routes), "outbound|9081||reviews-canary.default.svc.cluster.local") {
			t.Errorf("routes do not lead to the canary: %s", routesText(routes))
		}

		// An endpoint change alone is an EDS push and nothing else.
		f.source.Update(func(p *model.Part) {
			p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.22", nil))
		})
		got = collect(t, c, resourcev3.EndpointType)
		if len(got) != 1 {
			t.Errorf("an endpoint change sent %v, want only EDS", types(got))
		}
		quiet(t, c, "after an endpoint change")
	})
}

func TestNoPushWhenNothingChanged(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		c := f.dial(adsc.Options{})
		collect(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		f.source.Replace(bookinfo()) // same content, new objects: a new model snapshot, same resources
		quiet(t, c, "after an unchanged model")
	})
}

func TestNackedConfigIsNotResent(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		// This proxy refuses any route with a timeout of 7s, as Envoy refuses a config it cannot use.
		c := f.dial(adsc.Options{Reject: func(typeURL string, msgs []proto.Message) error {
			for _, m := range msgs {
				if rc, ok := m.(*routev3.RouteConfiguration); ok && strings.Contains(routesText(map[string]proto.Message{"": rc}), `"7s"`) {
					return errors.New("route config 9080: route timeout 7s refused")
				}
			}
			return nil
		}})
		collect(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		setTimeout := func(d time.Duration) {
			f.source.Update(func(p *model.Part) {
				p.VirtualServices = []*model.VirtualService{{
					Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default"},
					Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
						Timeout: networking.NewDuration(d),
						Route:   []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "reviews"}}},
					}}},
				}}
			})
		}
		setTimeout(7 * time.Second)
		got := collect(t, c, resourcev3.RouteType)
		if last := got[len(got)-1]; last.Err == nil {
			t.Fatalf("the 7s route was not refused")
		}
		// syncz names the refused resource, as the message does.
		waitFor(t, "syncz to name the refused route config", func() bool {
			nack := f.srv.SyncStatus()[0].Types["rds"].LastNack
			return nack != nil && slices.Equal(nack.Resources, []string{"9080"})
		})
		quiet(t, c, "after a NACK") // no resend of the refused version

		setTimeout(3 * time.Second) // a new version goes out and is taken
		got = collect(t, c, resourcev3.RouteType)
		if last := got[len(got)-1]; last.Err != nil {
			t.Fatalf("the 3s route was refused: %v", last.Err)
		}
		if !strings.Contains(routesText(c.Resources(resourcev3.RouteType)), `"3s"`) {
			t.Errorf("the proxy does not run the 3s route")
		}
	})
}

func TestNodeReleasedWhenStreamCloses(t *testing.T) {
	f := start(t, bookinfo())
	ctx, cancel := context.WithCancel(context.Background())
	c, err := adsc.Dial(ctx, f.conn, adsc.Options{NodeID: sidecarID})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, c, resourcev3.ClusterType)
	if got := len(f.srv.SyncStatus()); got != 1 {
		t.Fatalf("%d nodes connected, want 1", got)
	}
	cancel()
	waitFor(t, "the node to be released", func() bool { return len(f.srv.SyncStatus()) == 0 })
}

// A gRPC client asks for one listener by name; the node's other resources must not hold up the
// answer (go-control-plane's ADS mode answers only when the snapshot holds nothing unasked for).
func TestNamedListenerIsAnswered(t *testing.T) {
	f := start(t, bookinfo())
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(f.conn).StreamAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := structpb.NewStruct(map[string]any{"GENERATOR": "grpc"})
	node := &corev3.Node{Id: "sidecar~10.1.0.50~client.default~default.svc.cluster.local", Metadata: meta}
	want := "reviews.default.svc.cluster.local:9080"
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType, ResourceNames: []string{want}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan *discoveryv3.DiscoveryResponse, 1)
	go func() {
		resp, err := stream.Recv()
		if err == nil {
			done <- resp
		}
	}()
	select {
	case resp := <-done:
		if len(resp.Resources) != 1 {
			t.Fatalf("got %d listeners, want only %s", len(resp.Resources), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to a named listener request")
	}
}

func routesText(routes map[string]proto.Message) string {
	var b strings.Builder
	for _, r := range routes {
		b.WriteString(jsonOf(r))
	}
	return b.String()
}

func jsonOf(m proto.Message) string {
	b, err := protojson.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func describe(rs []adsc.Response) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = short(r.TypeURL) + "@" + r.Version + "#" + r.Nonce
	}
	return out
}

// A gRPC client that reconnects asks again for everything it watches, in any order. Clusters asked
// for before its listeners must not be answered with an empty set (which tells it they are gone):
// once it names its listeners, it gets the clusters they lead to.
func TestReconnectingGRPCClientAsksForClustersFirst(t *testing.T) {
	f := start(t, bookinfo())
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(f.conn).StreamAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := structpb.NewStruct(map[string]any{"GENERATOR": "grpc"})
	node := &corev3.Node{Id: "sidecar~10.1.0.50~client.default~default.svc.cluster.local", Metadata: meta}
	cluster := "outbound|9080||reviews.default.svc.cluster.local"
	send := func(typeURL string, names ...string) {
		if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names, VersionInfo: "before-restart"}); err != nil {
			t.Fatal(err)
		}
	}
	responses := make(chan *discoveryv3.DiscoveryResponse, 8)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				close(responses)
				return
			}
			responses <- resp
		}
	}()
	send(resourcev3.ClusterType, cluster)
	select {
	case resp := <-responses:
		t.Fatalf("clusters answered before the listeners were named: %d resources", len(resp.Resources))
	case <-time.After(300 * time.Millisecond):
	}
	send(resourcev3.ListenerType, "reviews.default.svc.cluster.local:9080")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case resp := <-responses:
			if resp.TypeUrl == resourcev3.ClusterType {
				if len(resp.Resources) != 1 {
					t.Fatalf("want the reviews cluster, got %d clusters", len(resp.Resources))
				}
				return
			}
		case <-deadline:
			t.Fatal("the clusters were never answered")
		}
	}
}
