package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
)

var allTypes = []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}

// A refused set is not sent again: before, the NACK itself was answered with the refused version,
// hundreds of times a second.
func TestRefusedClustersAreNotResentInALoop(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		c := f.dial(adsc.Options{Reject: func(typeURL string, _ []proto.Message) error {
			if typeURL == resourcev3.ClusterType {
				return errors.New("clusters refused")
			}
			return nil
		}})
		got := settle(t, c, resourcev3.ClusterType)
		if n := count(got, resourcev3.ClusterType); n != 1 {
			t.Fatalf("the refused clusters were sent %d times, want once: %v", n, describe(got))
		}
		// A change that leaves the clusters as they were still sends them no more.
		f.source.Update(func(p *model.Part) { p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.23", nil)) })
		quietOf(t, c, resourcev3.ClusterType, "after an endpoint change")
	})
}

// A Service with two ports of one number (http and http2, both 9080) must not give a proxy a
// response that names a cluster twice, which Envoy refuses.
func TestDuplicatePortNumbersAreAccepted(t *testing.T) {
	part := bookinfo()
	part.Services[1].Ports = append(part.Services[1].Ports, model.Port{Name: "http2", Port: 9080, Protocol: model.ProtocolHTTP2})
	f := start(t, part)
	c := f.dial(adsc.Options{})
	got := settle(t, c, allTypes...)
	for _, r := range got {
		if r.Err != nil {
			t.Errorf("%s NACKed: %v", short(r.TypeURL), r.Err)
		}
	}
	if len(got) > 8 {
		t.Errorf("%d responses to a first config, want one or two of each type: %v", len(got), describe(got))
	}
}

// A reconnecting Envoy, over a dropped connection or to a restarted pilot, asks at once for every
// type with the versions it holds. It must be answered only with its full config: under
// State-of-the-World LDS, an empty listener set drops every listener it has.
func TestReconnectIsNeverSentAnEmptyConfig(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, err := adsc.Dial(ctx, f.conn, adsc.Options{NodeID: sidecarID, Delta: delta})
		if err != nil {
			t.Fatal(err)
		}
		first := settle(t, c, allTypes...)
		assertNeverEmpty(t, "first connection", first, delta)
		held := holdings(c)

		// A dropped connection: the stream ends, the same Envoy opens a new one.
		cancel()
		drain(c)
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		if err := c.Reconnect(ctx2, f.conn); err != nil {
			t.Fatal(err)
		}
		again := settle(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType)
		assertNeverEmpty(t, "reconnect", again, delta)
		assertOrdered(t, again)
		if got := holdings(c); got != held {
			t.Errorf("after the reconnect the proxy holds %s, before %s", got, held)
		}

		// A restarted pilot: a new server, serving the same mesh.
		restarted := startWith(t, bookinfo(), server.Options{StageTimeout: time.Minute})
		cancel2()
		drain(c)
		ctx3, cancel3 := context.WithCancel(context.Background())
		defer cancel3()
		if err := c.Reconnect(ctx3, restarted.conn); err != nil {
			t.Fatal(err)
		}
		after := settle(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType)
		assertNeverEmpty(t, "restart", after, delta)
		if got := holdings(c); got != held {
			t.Errorf("after the restart the proxy holds %s, before %s", got, held)
		}
	})
}

// A second stream that claims a victim's node ID with other metadata gets its own config and does
// not change what the victim is sent.
func TestStreamsSharingANodeIDAreIndependent(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, bookinfo())
		f.delta = delta
		victim := f.dial(adsc.Options{})
		settle(t, victim, allTypes...)
		squatter := f.dial(adsc.Options{Metadata: map[string]any{"INTERCEPTION_MODE": "NONE", "NAMESPACE": "secret"}})
		settle(t, squatter, resourcev3.ClusterType, resourcev3.ListenerType)
		quiet(t, victim, "after another stream claimed its node ID")

		// A later change reaches the victim translated for its own metadata: listeners on 0.0.0.0.
		f.source.Update(func(p *model.Part) { p.Services = append(p.Services, service("ratings", 9081)) })
		settle(t, victim, resourcev3.ListenerType)
		for name, m := range victim.Resources(resourcev3.ListenerType) {
			if addr := m.(*listenerv3.Listener).GetAddress().GetSocketAddress().GetAddress(); addr == "127.0.0.1" {
				t.Errorf("the victim's listener %s binds 127.0.0.1: it got the squatter's INTERCEPTION_MODE", name)
			}
		}
		status := f.srv.SyncStatus()
		if len(status) != 2 || status[0].Namespace == status[1].Namespace {
			t.Fatalf("want two streams of one node ID with their own namespaces, got %+v", status)
		}
	})
}

// On shutdown every stream keeps being served and they are closed one by one, spread over the
// grace period, so that proxies do not all reconnect elsewhere at the same moment.
func TestDrainClosesStreamsSpreadOverTheGrace(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		fake := clocktesting.NewFakeClock(time.Unix(1e9, 0))
		f := startWith(t, bookinfo(), server.Options{Clock: fake, StageTimeout: time.Minute})
		f.delta = delta
		var clients []*adsc.Client
		for range 3 {
			c := f.dial(adsc.Options{})
			settle(t, c, allTypes...)
			clients = append(clients, c)
		}
		waiters := fake.Waiters()
		done := make(chan struct{})
		go func() { f.srv.Drain(context.Background(), 4*time.Second); close(done) }()
		waitFor(t, "the drain to start", func() bool { return fake.Waiters() > waiters })
		if f.srv.Ready() {
			t.Error("still ready while draining")
		}
		refused, err := adsc.Dial(context.Background(), f.conn, adsc.Options{NodeID: sidecarID, Delta: delta})
		if err == nil {
			_, open := <-refused.Responses()
			if open {
				t.Error("a new stream was served while draining")
			}
		}

		// An open stream is still served while it waits for its turn.
		f.source.Update(func(p *model.Part) { p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.24", nil)) })
		for _, c := range clients {
			waitFor(t, "the endpoint change", func() bool { f.tick(); return strings.Contains(resourcesText(c, resourcev3.EndpointType), "10.1.0.24") })
		}

		for i, c := range clients { // a second apart: the grace of 4s split in n+1 = 4 steps
			if open := len(f.srv.SyncStatus()); open != len(clients)-i {
				t.Fatalf("after %d steps %d streams are open, want %d", i, open, len(clients)-i)
			}
			// Step only once the drain waits for its next turn, or the step would come before it.
			waitFor(t, "the drain to wait", func() bool { return fake.Waiters() > waiters })
			fake.Step(time.Second)
			drain(c)
			waitFor(t, "the stream to close", func() bool { return len(f.srv.SyncStatus()) == len(clients)-i-1 })
		}
		<-done
	})
}

// A stream whose first request names no node is refused, and counted.
func TestStreamWithoutNodeIsRefused(t *testing.T) {
	f := start(t, bookinfo())
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := adsc.Dial(context.Background(), conn, adsc.Options{NodeID: "not-an-istio-node-id"})
	if err != nil {
		t.Fatal(err)
	}
	drain(c)
	if err := c.Err(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "node") {
		t.Errorf("a bad node ID ended the stream with %v, want InvalidArgument naming the node", err)
	}
}

// assertNeverEmpty fails on any CDS, LDS or RDS response without resources: none of them is empty
// in these meshes, so an empty one can only be a set sent before it was decided.
// For Delta, a response without resources is the server saying the client has it all already (it
// said what it had on reconnecting); what must never come is a removal.
func assertNeverEmpty(t *testing.T, when string, rs []adsc.Response, delta bool) {
	t.Helper()
	for _, r := range rs {
		switch {
		case delta && len(r.Removed) > 0:
			t.Errorf("%s: a Delta %s response removed %v: %v", when, short(r.TypeURL), r.Removed, describe(rs))
		case !delta && r.TypeURL != resourcev3.EndpointType && len(r.Names) == 0:
			t.Errorf("%s: an empty %s response (version %q): %v", when, short(r.TypeURL), r.Version, describe(rs))
		}
	}
}

// holdings summarizes what a client runs: how many resources of each type.
func holdings(c *adsc.Client) string {
	var b strings.Builder
	for _, typ := range allTypes {
		fmt.Fprintf(&b, "%s=%d ", short(typ), len(c.Resources(typ)))
	}
	return b.String()
}

func count(rs []adsc.Response, typeURL string) int {
	n := 0
	for _, r := range rs {
		if r.TypeURL == typeURL {
			n++
		}
	}
	return n
}

func resourcesText(c *adsc.Client, typeURL string) string {
	return routesText(c.Resources(typeURL))
}

// drain reads a client's responses until its stream ends.
func drain(c *adsc.Client) {
	for range c.Responses() {
	}
}

// quietOf asserts that no response of one type arrives for a while.
func quietOf(t *testing.T, c *adsc.Client, typeURL, what string) {
	t.Helper()
	deadline := time.After(500 * time.Millisecond)
	for {
		select {
		case r := <-c.Responses():
			if r.TypeURL == typeURL {
				t.Fatalf("%s: unexpected %s response version %s", what, short(typeURL), r.Version)
			}
		case <-deadline:
			return
		}
	}
}

// A request naming a resource in bytes that are not UTF-8 (which protobuf refuses in a string)
// ends its stream with InvalidArgument, as protobuf's own decoding would have; the names of
// requests are decoded only when they differ from the last request's, so this is checked then.
func TestRequestWithANameThatIsNotUTF8IsRefused(t *testing.T) {
	f := start(t, bookinfo())
	stream, err := f.conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		"/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := proto.Marshal(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: sidecarID}, TypeUrl: resourcev3.ClusterType})
	bad, _ := proto.Marshal(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType})
	bad = protowire.AppendBytes(protowire.AppendTag(bad, 3, protowire.BytesType), []byte{'a', 0xff})
	for _, req := range [][]byte{first, bad} {
		if err := stream.SendMsg(req); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var resp []byte
		if err = stream.RecvMsg(&resp); err != nil {
			break
		}
	}
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("the stream ended with %v, want InvalidArgument saying a name is not UTF-8", err)
	}
}

// rawCodec sends and receives encoded messages as they are.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}
