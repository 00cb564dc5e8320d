package server

import (
	"context"
	"errors"
	"sort"
	"sync"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// watchCache is the cache go-control-plane's SotW server asks for responses: it holds the sets each
// node is offered and answers its watches from them. It replaces the library's snapshot cache for
// one reason: that cache marshals every resource again for every node's response, which was 60% of
// the server's CPU under load, while our sets already carry each resource's wire bytes, shared by
// every node of a kind. What the library's cache would also do differently is on purpose: a node is
// offered exactly what it subscribed to (no waiting for a superset), and a refused set is not
// re-offered (the callbacks decide what is published).
type watchCache struct {
	fetch func(context.Context, *cachev3.Request) (cachev3.Response, error)

	mu     sync.Mutex
	nodes  map[string]*cachedNode
	nextID int64
}

type cachedNode struct {
	sets    *[numTypes]typeSet // what the node is offered; nil until the first publish
	watches map[int64]openWatch
}

// openWatch is a request waiting for a version other than the one it names.
type openWatch struct {
	t   int
	req *cachev3.Request
	sub cachev3.Subscription
	out chan cachev3.Response
}

func newWatchCache(fetch func(context.Context, *cachev3.Request) (cachev3.Response, error)) *watchCache {
	return &watchCache{fetch: fetch, nodes: map[string]*cachedNode{}}
}

func (c *watchCache) node(id string) *cachedNode {
	n := c.nodes[id]
	if n == nil {
		n = &cachedNode{watches: map[int64]openWatch{}}
		c.nodes[id] = n
	}
	return n
}

// CreateWatch answers at once when the node is offered another version than the request names, and
// otherwise waits for set. Types minipilot does not serve wait forever, as Envoy expects.
func (c *watchCache) CreateWatch(req *cachev3.Request, sub cachev3.Subscription, out chan cachev3.Response) (func(), error) {
	t, known := typeIndex(req.GetTypeUrl())
	if !known {
		t = -1
	}
	nodeID := req.GetNode().GetId()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(nodeID)
	if t >= 0 && n.sets != nil {
		if resp := response(req, sub, n.sets[t], t); resp != nil {
			out <- resp
			return func() {}, nil
		}
	}
	c.nextID++
	id := c.nextID
	n.watches[id] = openWatch{t: t, req: req, sub: sub, out: out}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if n := c.nodes[nodeID]; n != nil {
			delete(n.watches, id)
		}
	}, nil
}

// set publishes a node's sets and answers its open watches whose version changed, in the order CDS,
// EDS, LDS, RDS. The responses go to the streams' buffered channels, which hold one response per
// type: sending under the lock never blocks.
func (c *watchCache) set(nodeID string, sets [numTypes]typeSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(nodeID)
	n.sets = &sets
	ids := make([]int64, 0, len(n.watches))
	for id := range n.watches {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := n.watches[ids[i]], n.watches[ids[j]]
		return a.t < b.t || a.t == b.t && ids[i] < ids[j]
	})
	for _, id := range ids {
		w := n.watches[id]
		if w.t < 0 {
			continue
		}
		if resp := response(w.req, w.sub, sets[w.t], w.t); resp != nil {
			w.out <- resp
			delete(n.watches, id)
		}
	}
}

// clear forgets a node whose last stream closed.
func (c *watchCache) clear(nodeID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, nodeID)
}

// response packs what a request's subscription names of a set (all of it, for a wildcard), from the
// stored wire bytes, or returns nil when the request already has that version and this stream has
// been sent all of it (a new stream, say after pilot restarted, is answered even at the version the
// client names, as go-control-plane's own cache does). The version is that of exactly what is sent:
// a watch opened before its client subscribed to more must not acknowledge, under the whole set's
// version, resources it never received.
func response(req *cachev3.Request, sub cachev3.Subscription, set typeSet, t int) cachev3.Response {
	if !sub.IsWildcard() {
		names := map[string]bool{}
		for name := range sub.SubscribedResources() {
			names[name] = true
		}
		set = set.filter(subscription{requested: true, names: names})
	}
	if set.version == req.GetVersionInfo() && allReturned(sub, set) {
		return nil
	}
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: set.version, TypeUrl: typeURLs[t]}
	returned := make(map[string]string, len(set.names))
	for i, name := range set.names {
		resp.Resources = append(resp.Resources, &anypb.Any{TypeUrl: typeURLs[t], Value: set.raw[i]})
		returned[name] = set.version
	}
	return &cachev3.PassthroughResponse{Request: req, DiscoveryResponse: resp, ReturnedResources: returned}
}

// allReturned says whether the stream has been sent every resource of the set.
func allReturned(sub cachev3.Subscription, set typeSet) bool {
	returned := sub.ReturnedResources()
	for _, name := range set.names {
		if _, ok := returned[name]; !ok {
			return false
		}
	}
	return true
}

// CreateDeltaWatch refuses incremental xDS, which minipilot does not serve.
func (c *watchCache) CreateDeltaWatch(*cachev3.DeltaRequest, cachev3.Subscription, chan cachev3.DeltaResponse) (func(), error) {
	return nil, errors.New("minipilot serves State-of-the-World xDS only: configure the client with GRPC, not DELTA_GRPC")
}

// Fetch answers REST polls.
func (c *watchCache) Fetch(ctx context.Context, req *cachev3.Request) (cachev3.Response, error) {
	return c.fetch(ctx, req)
}
