// Package adsc is an ADS client that behaves like Envoy at the protocol level: it subscribes to all
// clusters and listeners, asks for the endpoints of EDS clusters and the routes listeners name, starts
// listening only once its clusters are warm, validates every resource as Envoy does, and ACKs or NACKs
// each response with its nonce. Tests use it to check ordering and NACK handling; the load tool uses
// it to stand in for many sidecars.
package adsc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Response is one discovery response as the client received it.
type Response struct {
	TypeURL string
	Version string
	Nonce   string
	Names   []string
	// Removed names what a Delta response said is gone.
	Removed []string
	// Bodies are the resources' serialized messages as received, in the order of Names.
	Bodies [][]byte
	// Size is the encoded response's length in bytes.
	Size int
	// Received is when the response was read off the stream; Answered when its ACK or NACK was sent.
	Received, Answered time.Time
	// Err is why the client NACKed it; nil when it ACKed.
	Err error
}

// Options configure a client.
type Options struct {
	NodeID   string
	Metadata map[string]any
	// Reject, when set, is asked about every response after validation; an error NACKs it.
	Reject func(typeURL string, resources []proto.Message) error
	// Delta speaks incremental xDS (DeltaAggregatedResources), as Istio's sidecars do by default,
	// rather than State of the World.
	Delta bool
}

// Client is one ADS stream.
type Client struct {
	opts   Options
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corev3.Node

	responses chan Response

	mu        sync.Mutex
	resources map[string]map[string]proto.Message // type → name → resource, as accepted
	versions  map[string]string                   // type → accepted version
	nonces    map[string]string                   // type → nonce of the last response
	requested map[string][]string                 // type → names last asked for
	listening bool                                // LDS has been requested (after warming)
	err       error                               // why the last stream ended
	delta     *deltaState                         // nil for State of the World
}

// Dial opens an ADS stream on conn and sends the first CDS request.
func Dial(ctx context.Context, conn grpc.ClientConnInterface, opts Options) (*Client, error) {
	meta, err := structpb.NewStruct(opts.Metadata)
	if err != nil {
		return nil, fmt.Errorf("node metadata: %w", err)
	}
	c := &Client{
		opts:      opts,
		node:      &corev3.Node{Id: opts.NodeID, Metadata: meta, UserAgentName: "envoy"},
		resources: map[string]map[string]proto.Message{},
		versions:  map[string]string{},
		nonces:    map[string]string{},
		requested: map[string][]string{},
	}
	if opts.Delta {
		c.delta = newDeltaState()
	}
	if err := c.open(ctx, conn); err != nil {
		return nil, err
	}
	if err := c.send(resourcev3.ClusterType, nil, "", "", nil); err != nil {
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
		// The server ended the stream before reading it (refused it): the why is its status, which
		// only a receive returns.
		go c.receive()
		for range c.Responses() {
		}
		return nil, c.Err()
	}
	go c.receive()
	return c, nil
}

// Reconnect opens a new stream for the same node, keeping everything the client has accepted, and
// asks at once for every type it holds, with the versions and names it holds, as Envoy does after a
// dropped connection or a pilot restart. The old stream must have ended (or be abandoned).
func (c *Client) Reconnect(ctx context.Context, conn grpc.ClientConnInterface) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Like Envoy, wait for the connection to come back rather than fail while it is down.
	if err := c.open(ctx, conn, grpc.WaitForReady(true)); err != nil {
		return err
	}
	c.nonces = map[string]string{}
	for _, t := range []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType} {
		if t != resourcev3.ClusterType && c.versions[t] == "" && len(c.requested[t]) == 0 {
			continue
		}
		if err := c.send(t, c.requested[t], c.versions[t], "", nil); err != nil {
			return err
		}
	}
	go c.receive()
	return nil
}

func (c *Client) open(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) error {
	if c.delta != nil {
		stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx, opts...)
		if err != nil {
			return err
		}
		c.delta.stream, c.delta.opened, c.responses = stream, map[string]bool{}, make(chan Response, 1024)
		return nil
	}
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx, opts...)
	if err != nil {
		return err
	}
	c.stream, c.responses = stream, make(chan Response, 1024)
	return nil
}

// Responses delivers every response in the order received; it is closed when the stream ends (a
// Reconnect starts a new channel).
func (c *Client) Responses() <-chan Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.responses
}

// Resources returns the accepted resources of a type, by name.
func (c *Client) Resources(typeURL string) map[string]proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]proto.Message, len(c.resources[typeURL]))
	for k, v := range c.resources[typeURL] {
		out[k] = v
	}
	return out
}

// Err is why the stream ended (io.EOF for a clean end); nil while it is open. Read it once
// Responses is closed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the stream.
func (c *Client) Close() error {
	if c.delta != nil {
		return c.delta.stream.CloseSend()
	}
	return c.stream.CloseSend()
}

func (c *Client) send(typeURL string, names []string, version, nonce string, nackErr error) error {
	if c.delta != nil {
		return c.sendDelta(typeURL, names, nonce, nackErr)
	}
	req := &discoveryv3.DiscoveryRequest{
		Node: c.node, TypeUrl: typeURL, ResourceNames: names, VersionInfo: version, ResponseNonce: nonce,
	}
	if nackErr != nil {
		req.ErrorDetail = &statuspb.Status{Code: 3, Message: nackErr.Error()}
	}
	return c.stream.Send(req)
}

func (c *Client) receive() {
	if c.delta != nil {
		c.receiveDelta()
		return
	}
	c.mu.Lock()
	stream := c.stream
	c.mu.Unlock()
	receiveLoop(c, stream.Recv, c.handle)
}

// receiveLoop reads a stream's responses and hands each to handle until the stream ends, then
// records why and closes the responses channel.
func receiveLoop[R any](c *Client, recv func() (R, error), handle func(R, time.Time, chan<- Response) error) {
	c.mu.Lock()
	responses := c.responses
	c.mu.Unlock()
	defer close(responses)
	for {
		resp, err := recv()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if err := handle(resp, time.Now(), responses); err != nil {
			return
		}
	}
}

// handle validates a response, ACKs or NACKs it, and asks for what it leads to, as Envoy would.
func (c *Client) handle(resp *discoveryv3.DiscoveryResponse, received time.Time, responses chan<- Response) error {
	t := resp.GetTypeUrl()
	msgs, names, bodies, err := decode(resp)
	if err == nil && c.opts.Reject != nil {
		err = c.opts.Reject(t, msgs)
	}
	// The response is reported once the client's state reflects it and its ACK or NACK is sent.
	defer func() {
		responses <- Response{TypeURL: t, Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(), Names: names, Bodies: bodies,
			Size: proto.Size(resp), Received: received, Answered: time.Now(), Err: err}
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.nonces[t] = resp.GetNonce()
	if err != nil {
		// A NACK carries the last accepted version, so the server knows what the proxy still runs.
		return c.send(t, c.requested[t], c.versions[t], resp.GetNonce(), err)
	}
	c.accept(t, msgs, names)
	c.versions[t] = resp.GetVersionInfo()
	if err := c.send(t, c.requested[t], resp.GetVersionInfo(), resp.GetNonce(), nil); err != nil {
		return err
	}
	return c.lead(t)
}

// lead asks for what the resources of a type now held lead to, as Envoy does: the endpoints of EDS
// clusters, listeners once those are warm, the route configs listeners name.
func (c *Client) lead(t string) error {
	all := slices.Collect(maps.Values(c.resources[t]))
	switch t {
	case resourcev3.ClusterType:
		if err := c.follow(resourcev3.EndpointType, edsClusters(all)); err != nil {
			return err
		}
		if len(edsClusters(all)) == 0 {
			return c.startListening()
		}
	case resourcev3.EndpointType:
		if c.warm() {
			return c.startListening()
		}
	case resourcev3.ListenerType:
		return c.follow(resourcev3.RouteType, routeNames(all))
	}
	return nil
}

// accept takes the resources of a response. Clusters and listeners come as a whole set (what a
// response lacks is gone); a State-of-the-World response of endpoints or routes holds only the sets
// it updates, as Envoy reads it, so the others are kept.
func (c *Client) accept(t string, msgs []proto.Message, names []string) {
	byName := map[string]proto.Message{}
	if t != resourcev3.ClusterType && t != resourcev3.ListenerType {
		for name, m := range c.resources[t] {
			byName[name] = m
		}
	}
	for i, m := range msgs {
		byName[names[i]] = m
	}
	c.resources[t] = byName
}

// follow subscribes to the named resources of a type when the set changed, and drops what it no
// longer asks for, as Envoy forgets the endpoints of a cluster it removed.
func (c *Client) follow(typeURL string, names []string) error {
	if slices.Equal(names, c.requested[typeURL]) {
		return nil
	}
	c.requested[typeURL] = names
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	for n := range c.resources[typeURL] {
		if !keep[n] {
			delete(c.resources[typeURL], n)
		}
	}
	// Like Envoy, every request of a type carries the nonce of the last response of that type;
	// the server drops one that does not as stale.
	return c.send(typeURL, names, c.versions[typeURL], c.nonces[typeURL], nil)
}

// warm says whether every EDS cluster has its endpoints, as Envoy requires before it asks for
// listeners.
func (c *Client) warm() bool {
	for _, name := range c.requested[resourcev3.EndpointType] {
		if _, ok := c.resources[resourcev3.EndpointType][name]; !ok {
			return false
		}
	}
	return true
}

func (c *Client) startListening() error {
	if c.listening {
		return nil
	}
	c.listening = true
	return c.send(resourcev3.ListenerType, nil, "", "", nil)
}

func decode(resp *discoveryv3.DiscoveryResponse) ([]proto.Message, []string, [][]byte, error) {
	var msgs []proto.Message
	var names []string
	var bodies [][]byte
	var errs []error
	for _, a := range resp.GetResources() {
		m, err := a.UnmarshalNew()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v, ok := m.(interface{ ValidateAll() error }); ok {
			if err := v.ValidateAll(); err != nil {
				errs = append(errs, err)
			}
		}
		msgs = append(msgs, m)
		names = append(names, resourceName(m))
		bodies = append(bodies, a.GetValue())
	}
	// Envoy refuses a response that names one resource twice.
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			errs = append(errs, fmt.Errorf("duplicate %s %q in one response", resp.GetTypeUrl(), n))
		}
		seen[n] = true
	}
	return msgs, names, bodies, errors.Join(errs...)
}

func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *clusterv3.Cluster:
		return r.GetName()
	case *endpointv3.ClusterLoadAssignment:
		return r.GetClusterName()
	case *listenerv3.Listener:
		return r.GetName()
	case *routev3.RouteConfiguration:
		return r.GetName()
	}
	return ""
}

func edsClusters(msgs []proto.Message) []string {
	var out []string
	for _, m := range msgs {
		if c, ok := m.(*clusterv3.Cluster); ok && c.GetType() == clusterv3.Cluster_EDS {
			name := c.GetEdsClusterConfig().GetServiceName()
			if name == "" {
				name = c.GetName()
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func routeNames(msgs []proto.Message) []string {
	var out []string
	for _, m := range msgs {
		l, ok := m.(*listenerv3.Listener)
		if !ok {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().UnmarshalTo(hcm) == nil && hcm.GetRds() != nil {
					out = append(out, hcm.GetRds().GetRouteConfigName())
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
