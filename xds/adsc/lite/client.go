// Package lite is a cheap Envoy-like ADS client for load: it speaks the protocol as Envoy does (CDS
// wildcard first, EDS for the clusters it learns of, LDS once those are warm, RDS for the route
// configs its listeners name, every request carrying the last nonce of its type) but decodes nothing
// it need not. It reads responses with protowire, off one buffer per response: the names of the
// resources, the endpoint set names of EDS clusters and the route config names of listeners, and no
// other field; it ACKs everything and validates nothing (xds/adsc does, for tests and the load
// tool's --full mode). Each response, with the raw bytes of its resources, is handed to a callback
// that sees whether a change arrived, and then dropped: the client holds per stream only its
// subscriptions, shared between streams through a NameCache.
package lite

import (
	"context"
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Types in the order of a push, indexing per-type state.
const (
	cds = iota
	eds
	lds
	rds
	numTypes
)

var typeURLs = [numTypes]string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}

func typeIndex(url []byte) (int, bool) {
	for i, u := range typeURLs {
		if string(url) == u {
			return i, true
		}
	}
	return 0, false
}

// maxResponse is the largest response accepted; gRPC's default (4 MiB) is below the cluster set of a
// large mesh, which Envoy takes.
const maxResponse = 1 << 30

var adsStream = &grpc.StreamDesc{StreamName: "StreamAggregatedResources", ServerStreams: true, ClientStreams: true}

const adsMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

// Response is one response as the client handled it.
type Response struct {
	TypeURL        string
	Version, Nonce string
	// Size is the encoded response's length in bytes.
	Size int
	// Resources alias the response's buffer: valid only during the OnResponse call.
	Resources []Resource
	// Full says the response holds every resource of its type the client has (clusters and
	// listeners, in State of the World): what it lacks is gone. A response of another type holds
	// only the resources it updates.
	Full bool
	// Removed names resources the response removes (Delta xDS; State of the World has none).
	Removed [][]byte
	// Received is when the response was read off the stream; Answered when its ACK (or NACK) was sent.
	Received, Answered time.Time
	// NACK is why the client refused the response (it could not parse it); nil when it ACKed.
	NACK error
}

// Options configure a client.
type Options struct {
	Node *corev3.Node
	// OnResponse is called with every response once it has been answered, on the stream's goroutine.
	OnResponse func(*Response)
	// Names is shared between the clients of a run; nil gives the client a cache of its own.
	Names *NameCache
	// Now stamps responses; nil means time.Now.
	Now func() time.Time
}

// Client is one ADS stream.
type Client struct {
	opts   Options
	stream grpc.ClientStream
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why the stream ended; written before done is closed

	// Touched only by the goroutine that sends the first request and then the receive goroutine.
	node      []byte // encoded, sent on the first request only (as Istio's bootstrap has Envoy do)
	nonce     [numTypes]string
	version   [numTypes]string // last accepted
	subs      [numTypes]*nameSet
	listening bool
	warm      warmth
	resources []Resource // reused between responses
}

// Dial opens an ADS stream on conn and sends the first request, CDS wildcard.
func Dial(ctx context.Context, conn grpc.ClientConnInterface, opts Options) (*Client, error) {
	node, err := proto.Marshal(opts.Node)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if opts.Names == nil {
		opts.Names = NewNameCache()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := conn.NewStream(ctx, adsStream, adsMethod, grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(maxResponse))
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Client{opts: opts, stream: stream, cancel: cancel, done: make(chan struct{}), node: node}
	if err := c.send(cds, nil); err != nil {
		cancel()
		return nil, err
	}
	go c.receive()
	return c, nil
}

// Done is closed when the stream has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the stream ended; it waits for the end.
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Close ends the stream and waits for its goroutine.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}

func (c *Client) receive() {
	defer close(c.done)
	// handle runs inside RecvMsg (see frame), sends included: gRPC holds no lock of the stream
	// while it decodes a message.
	f := frame{read: func(b []byte) error { return c.handle(b, c.opts.Now()) }}
	for {
		if err := c.stream.RecvMsg(&f); err != nil {
			c.err = err
			return
		}
		if f.err != nil {
			c.err = f.err
			c.cancel()
			return
		}
	}
}

// handle answers a response and asks for what it leads to, as Envoy does. f is gRPC's buffer: nothing
// of it is kept once handle returns.
func (c *Client) handle(f []byte, received time.Time) error {
	wr, err := parseResponse(f, c.resources)
	if err != nil {
		return fmt.Errorf("unreadable response: %w", err)
	}
	c.resources = wr.resources
	defer clear(c.resources) // they alias gRPC's buffer
	t, ok := typeIndex(wr.typeURL)
	if !ok {
		return nil // never asked for; nothing to answer
	}
	resp := &Response{TypeURL: typeURLs[t], Version: string(wr.version), Nonce: string(wr.nonce), Size: len(f),
		Resources: wr.resources, Full: t == cds || t == lds, Received: received}
	c.nonce[t] = resp.Nonce

	var leads *nameSet
	switch t {
	case cds:
		leads, resp.NACK = c.opts.Names.derive(typeURLs[t], wr.resources, edsServiceNames)
	case lds:
		leads, resp.NACK = c.opts.Names.derive(typeURLs[t], wr.resources, routeConfigNames)
	}
	if resp.NACK == nil {
		c.version[t] = resp.Version
	}
	// The answer repeats the subscription and carries the version the client now runs (the last
	// accepted one after a NACK), with the response's nonce.
	if err := c.send(t, resp.NACK); err != nil {
		return err
	}
	if resp.NACK == nil {
		if err := c.follow(t, leads, wr.resources); err != nil {
			return err
		}
	}
	resp.Answered = c.opts.Now()
	if c.opts.OnResponse != nil {
		c.opts.OnResponse(resp)
	}
	return nil
}

// follow subscribes to what an accepted response leads to.
func (c *Client) follow(t int, leads *nameSet, resources []Resource) error {
	switch t {
	case cds:
		if leads.size() == 0 {
			return c.startListening() // no EDS cluster to warm
		}
		if err := c.subscribe(eds, leads); err != nil {
			return err
		}
	case eds:
		if !c.listening && c.warm.received(resources, c.subs[eds]) {
			return c.startListening()
		}
	case lds:
		if leads.size() > 0 {
			return c.subscribe(rds, leads)
		}
	}
	return nil
}

// subscribe asks for a new set of names of a type. An empty set is not asked for: in State of the
// World an empty list would mean everything.
func (c *Client) subscribe(t int, set *nameSet) error {
	if set.same(c.subs[t]) {
		return nil
	}
	if t == eds && !c.listening {
		c.warm.resubscribed(c.subs[t], set)
	}
	c.subs[t] = set
	return c.send(t, nil)
}

func (c *Client) startListening() error {
	if c.listening {
		return nil
	}
	c.listening = true
	c.warm = warmth{}
	return c.send(lds, nil)
}

// send asks for a type: its subscription, the version last accepted and the nonce last received
// (the server ignores a request whose nonce is not its latest as stale), with a NACK's reason.
func (c *Client) send(t int, nack error) error {
	req := request{version: c.version[t], typeURL: typeURLs[t], nonce: c.nonce[t], nack: nack}
	if c.subs[t] != nil {
		req.names = c.subs[t].encoded
	}
	if c.node != nil {
		req.node, c.node = c.node, nil
	}
	return c.stream.SendMsg(req.encode()) // a new head each time: gRPC may still hold the last one
}

// warmth tracks, until the client starts listening, which endpoint sets it has received: Envoy asks
// for listeners only once every EDS cluster has its endpoints.
type warmth struct {
	got   []bool
	count int
}

// received notes the endpoint sets of a response and says whether all of set are there.
func (w *warmth) received(resources []Resource, set *nameSet) bool {
	if set == nil {
		return false // endpoints never asked for
	}
	if w.got == nil {
		w.got = make([]bool, set.size())
	}
	for _, r := range resources {
		if i, ok := set.index[string(r.Name)]; ok && !w.got[i] {
			w.got[i] = true
			w.count++
		}
	}
	return w.count == set.size()
}

// resubscribed carries what was received over to a new subscription.
func (w *warmth) resubscribed(old, set *nameSet) {
	got := make([]bool, set.size())
	count := 0
	for i, ok := range w.got {
		if ok {
			if j, in := set.index[old.names[i]]; in {
				got[j] = true
				count++
			}
		}
	}
	w.got, w.count = got, count
}
