package server

import (
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"
)

func endpointsSet(names ...string) typeSet {
	items := make([]types.Resource, len(names))
	for i, n := range names {
		items[i] = &endpointv3.ClusterLoadAssignment{ClusterName: n}
	}
	return newTypeSet(names, items, time.Time{})
}

func edsRequest(version string, names ...string) *cachev3.Request {
	return &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "n"}, TypeUrl: typeURLs[eds], VersionInfo: version, ResourceNames: names}
}

// received takes a response, recording what it returned on the stream's subscription as the
// server does when it sends one.
func received(t *testing.T, out chan cachev3.Response, sub *stream.Subscription) *discoveryv3.DiscoveryResponse {
	t.Helper()
	select {
	case r := <-out:
		resp, err := r.GetDiscoveryResponse()
		if err != nil {
			t.Fatal(err)
		}
		sub.SetReturnedResources(r.GetReturnedResources())
		return resp
	default:
		return nil
	}
}

// TestWatchAnswersOnlyWhatItSubscribed: a watch opened before its client subscribed to more is not
// answered with the whole set's version for a part of it (the client would acknowledge resources it
// never received, and never ask again); the request that subscribes to more gets everything.
func TestWatchAnswersOnlyWhatItSubscribed(t *testing.T) {
	c := newWatchCache(nil)
	var sets [numTypes]typeSet
	sets[eds] = endpointsSet("a")
	c.set("n", sets)
	out := make(chan cachev3.Response, 4)
	sub := stream.NewSotwSubscription([]string{"a"}, false) // one per stream and type, as the server keeps it

	if _, err := c.CreateWatch(edsRequest("", "a"), sub, out); err != nil {
		t.Fatal(err)
	}
	first := received(t, out, &sub)
	if first == nil || len(first.Resources) != 1 {
		t.Fatalf("the first request is answered with a: %v", first)
	}
	if _, err := c.CreateWatch(edsRequest(first.VersionInfo, "a"), sub, out); err != nil { // the ACK waits
		t.Fatal(err)
	}
	if r := received(t, out, &sub); r != nil {
		t.Fatalf("an ACK of the current version is answered: %v", r)
	}
	sets[eds] = endpointsSet("a", "b") // published as the client subscribes to b too
	c.set("n", sets)
	if r := received(t, out, &sub); r != nil {
		t.Fatalf("the watch for [a] has nothing new, yet got version %s with %d resources", r.VersionInfo, len(r.Resources))
	}

	sub.SetResourceSubscription([]string{"a", "b"})
	if _, err := c.CreateWatch(edsRequest(first.VersionInfo, "a", "b"), sub, out); err != nil {
		t.Fatal(err)
	}
	both := received(t, out, &sub)
	if both == nil || len(both.Resources) != 2 || both.VersionInfo != sets[eds].version {
		t.Fatalf("the request for [a b] gets both at the set's version, got %v", both)
	}
}

// TestNewStreamIsAnsweredAtItsVersion: a client that reconnects (to a restarted pilot) naming the
// version it has gets that version sent on the new stream, as go-control-plane's cache does.
func TestNewStreamIsAnsweredAtItsVersion(t *testing.T) {
	c := newWatchCache(nil)
	var sets [numTypes]typeSet
	sets[eds] = endpointsSet("a")
	c.set("n", sets)
	out := make(chan cachev3.Response, 4)
	sub := stream.NewSotwSubscription([]string{"a"}, false)
	if _, err := c.CreateWatch(edsRequest(sets[eds].version, "a"), sub, out); err != nil {
		t.Fatal(err)
	}
	if r := received(t, out, &sub); r == nil || r.VersionInfo != sets[eds].version || len(r.Resources) != 1 {
		t.Fatalf("a new stream is answered with what the client has: %v", r)
	}
}
