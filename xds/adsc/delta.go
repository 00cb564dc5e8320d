package adsc

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// deltaState is what a Delta (incremental) stream keeps beyond what State of the World does: each
// resource's version, which a reconnecting client sends back (initial_resource_versions) so that
// nothing it has is sent again, and the names it subscribed to, since Delta requests carry only
// the names added and removed.
type deltaState struct {
	stream     discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	versions   map[string]map[string]string // type → name → version
	subscribed map[string][]string          // type → names subscribed, sorted; nil for the wildcard
	opened     map[string]bool              // the types asked for on this stream
}

func newDeltaState() *deltaState {
	return &deltaState{versions: map[string]map[string]string{}, subscribed: map[string][]string{}, opened: map[string]bool{}}
}

// sendDelta asks for names of a type (nil: all of them) as a Delta request does: the first request
// of a type on a stream says what the client has; later ones carry only the subscription's changes.
func (c *Client) sendDelta(typeURL string, names []string, nonce string, nackErr error) error {
	d := c.delta
	req := &discoveryv3.DeltaDiscoveryRequest{Node: c.node, TypeUrl: typeURL, ResponseNonce: nonce}
	if !d.opened[typeURL] {
		d.opened[typeURL] = true
		req.ResourceNamesSubscribe = slices.Clone(names) // none: the (legacy) wildcard
		if len(d.versions[typeURL]) > 0 {
			req.InitialResourceVersions = maps.Clone(d.versions[typeURL])
		}
		d.subscribed[typeURL] = slices.Clone(names)
	} else if names != nil || d.subscribed[typeURL] != nil {
		req.ResourceNamesSubscribe, req.ResourceNamesUnsubscribe = changes(d.subscribed[typeURL], names)
		d.subscribed[typeURL] = slices.Clone(names)
	}
	if nackErr != nil {
		req.ErrorDetail = &statuspb.Status{Code: 3, Message: nackErr.Error()}
	}
	return d.stream.Send(req)
}

// changes says which names a new subscription adds to an old one and which it drops.
func changes(old, now []string) (added, dropped []string) {
	for _, n := range now {
		if !slices.Contains(old, n) {
			added = append(added, n)
		}
	}
	for _, n := range old {
		if !slices.Contains(now, n) {
			dropped = append(dropped, n)
		}
	}
	return added, dropped
}

func (c *Client) receiveDelta() {
	c.mu.Lock()
	stream := c.delta.stream
	c.mu.Unlock()
	receiveLoop(c, stream.Recv, c.handleDelta)
}

// handleDelta validates a Delta response, applies it (what it carries replaces what the client had
// of those names; removed names go), ACKs or NACKs it, and asks for what it leads to, as Envoy does.
func (c *Client) handleDelta(resp *discoveryv3.DeltaDiscoveryResponse, received time.Time, responses chan<- Response) error {
	t := resp.GetTypeUrl()
	msgs, names, bodies, err := decodeDelta(resp)
	if err == nil && c.opts.Reject != nil {
		err = c.opts.Reject(t, msgs)
	}
	defer func() {
		responses <- Response{TypeURL: t, Version: resp.GetSystemVersionInfo(), Nonce: resp.GetNonce(), Names: names,
			Removed: resp.GetRemovedResources(), Bodies: bodies, Size: proto.Size(resp), Received: received, Answered: time.Now(), Err: err}
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.nonces[t] = resp.GetNonce()
	if err != nil {
		return c.sendDelta(t, c.requested[t], resp.GetNonce(), err)
	}
	if c.resources[t] == nil {
		c.resources[t], c.delta.versions[t] = map[string]proto.Message{}, map[string]string{}
	}
	for i, m := range msgs {
		c.resources[t][names[i]] = m
	}
	for _, r := range resp.GetResources() {
		c.delta.versions[t][r.GetName()] = r.GetVersion()
	}
	for _, n := range resp.GetRemovedResources() {
		delete(c.resources[t], n)
		delete(c.delta.versions[t], n)
	}
	c.versions[t] = resp.GetSystemVersionInfo()
	if err := c.sendDelta(t, c.requested[t], resp.GetNonce(), nil); err != nil {
		return err
	}
	return c.lead(t)
}

// decodeDelta unpacks and validates a Delta response's resources, as decode does for SotW.
func decodeDelta(resp *discoveryv3.DeltaDiscoveryResponse) ([]proto.Message, []string, [][]byte, error) {
	var msgs []proto.Message
	var names []string
	var bodies [][]byte
	var errs []error
	for _, r := range resp.GetResources() {
		m, err := r.GetResource().UnmarshalNew()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v, ok := m.(interface{ ValidateAll() error }); ok {
			if err := v.ValidateAll(); err != nil {
				errs = append(errs, err)
			}
		}
		if name := resourceName(m); name != r.GetName() {
			errs = append(errs, fmt.Errorf("resource named %q holds %q", r.GetName(), name))
		}
		msgs, names, bodies = append(msgs, m), append(names, r.GetName()), append(bodies, r.GetResource().GetValue())
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			errs = append(errs, fmt.Errorf("duplicate %s %q in one response", resp.GetTypeUrl(), n))
		}
		seen[n] = true
	}
	return msgs, names, bodies, errors.Join(errs...)
}
