package server

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
)

// Streams that name the same resources share one subscription (the sidecars of a view each name
// the same thousands of clusters); a stream naming others has its own; and once no stream holds a
// subscription, the table forgets it.
func TestStreamsNamingTheSameResourcesShareASubscription(t *testing.T) {
	s := New(model.NewStore("cluster.local", time.Now), Options{})
	ask := func(c *conn, names ...string) {
		t.Helper()
		b, _ := proto.Marshal(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: names})
		req, err := decodeRequest(b, s.seed)
		if err != nil {
			t.Fatal(err)
		}
		defer req.free()
		if err := s.handleRequest(c, req); err != nil {
			t.Fatal(err)
		}
	}
	var conns []*conn
	for i := range 3 {
		c, err := s.openConn(&corev3.Node{Id: fmt.Sprintf("sidecar~10.0.0.%d~p%d.ns~ns.svc.cluster.local", i, i)}, true, false)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	ask(conns[0], "a", "b", "c")
	ask(conns[1], "a", "b", "c")
	ask(conns[2], "a", "b")
	same := func(i, j int) bool {
		return reflect.ValueOf(conns[i].subs[eds].names).UnsafePointer() == reflect.ValueOf(conns[j].subs[eds].names).UnsafePointer()
	}
	if !same(0, 1) || same(0, 2) {
		t.Fatalf("streams 0 and 1 (the same names) share: %v; 0 and 2 (other names): %v", same(0, 1), same(0, 2))
	}
	if !conns[2].subs[eds].names["b"] || conns[2].subs[eds].names["c"] || len(conns[0].subs[eds].names) != 3 {
		t.Fatalf("subscriptions %v and %v", conns[0].subs[eds].names, conns[2].subs[eds].names)
	}

	// Two lists whose keys meet are told apart by their names.
	b, _ := proto.Marshal(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{"x", "y"}})
	req, _ := decodeRequest(b, s.seed)
	impostor := &sharedNames{names: map[string]bool{"p": true, "q": true}, listed: 2}
	s.subscriptions.m[req.key] = weak.Make(impostor)
	if err := s.handleRequest(conns[2], req); err != nil {
		t.Fatal(err)
	}
	req.free()
	if names := conns[2].subs[eds].names; !names["x"] || names["p"] {
		t.Fatalf("a list whose key met another's got %v", names)
	}
	runtime.KeepAlive(impostor)

	for _, c := range conns {
		s.closeConn(c)
	}
	conns = nil
	for range 100 {
		runtime.GC()
		s.subscriptions.mu.Lock()
		left := len(s.subscriptions.m)
		s.subscriptions.mu.Unlock()
		if left == 0 {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("the table still holds %d subscriptions no stream holds", len(s.subscriptions.m))
}

// A Delta ACK changes no subscription: it keeps the one the stream has (before, each ACK copied
// the stream's thousands of names, and made every set be filtered again on the next push).
func TestDeltaACKKeepsTheSubscription(t *testing.T) {
	s := New(model.NewStore("cluster.local", time.Now), Options{})
	c, err := s.openConn(&corev3.Node{Id: "sidecar~10.0.0.1~p.ns~ns.svc.cluster.local"}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.handleDeltaRequest(c, &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType,
		ResourceNamesSubscribe: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	gen, names := c.subGen[eds], reflect.ValueOf(c.subs[eds].names).UnsafePointer()
	if err := s.handleDeltaRequest(c, &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResponseNonce: "1"}); err != nil {
		t.Fatal(err)
	}
	if c.subGen[eds] != gen || reflect.ValueOf(c.subs[eds].names).UnsafePointer() != names {
		t.Fatal("a Delta ACK replaced the stream's subscription")
	}
	if err := s.handleDeltaRequest(c, &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType,
		ResourceNamesUnsubscribe: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if c.subGen[eds] == gen || c.subs[eds].names["a"] || !c.subs[eds].names["b"] {
		t.Fatalf("after unsubscribing a: %v", c.subs[eds].names)
	}
}

// Delta streams that subscribed to the same names, in any order and in any number of requests,
// share one subscription.
func TestDeltaStreamsOfTheSameNamesShareASubscription(t *testing.T) {
	s := New(model.NewStore("cluster.local", time.Now), Options{})
	var conns []*conn
	for i, steps := range [][][]string{{{"a", "b", "c"}}, {{"c"}, {"b", "a"}}, {{"a", "b"}}} {
		c, err := s.openConn(&corev3.Node{Id: fmt.Sprintf("sidecar~10.0.0.%d~p%d.ns~ns.svc.cluster.local", i, i)}, true, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, names := range steps {
			if err := s.handleDeltaRequest(c, &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNamesSubscribe: names}); err != nil {
				t.Fatal(err)
			}
		}
		conns = append(conns, c)
	}
	pointer := func(i int) unsafe.Pointer { return reflect.ValueOf(conns[i].subs[eds].names).UnsafePointer() }
	if pointer(0) != pointer(1) || pointer(0) == pointer(2) || len(conns[2].subs[eds].names) != 2 {
		t.Fatalf("{a b c} twice and {a b}: shared %v, %v", pointer(0) == pointer(1), pointer(0) == pointer(2))
	}
}
