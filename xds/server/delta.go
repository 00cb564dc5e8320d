package server

import (
	"strconv"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// deltaStream is an incremental (Delta) xDS stream: ADS or one type's.
type deltaStream = grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]

// serveDelta runs one Delta stream. It shares everything with State of the World but the wire: the
// same stream state (conn), translation, make-before-break, NACK handling and order; what differs
// is that subscriptions change by names added and removed, that a response carries only the
// resources that changed (with their own versions) and the names of those that went away, and that
// a reconnecting client says what it has (initial_resource_versions), which is not sent again.
func (s *Server) serveDelta(stream deltaStream, fixedType int) error {
	var nonce int64
	typeOfReq := func(req *discoveryv3.DeltaDiscoveryRequest) {
		if req.GetTypeUrl() == "" && fixedType >= 0 {
			req.TypeUrl = typeURLs[fixedType]
		}
	}
	return serveStream(s, stream.Context(), stream.Recv,
		func(req *discoveryv3.DeltaDiscoveryRequest) (*conn, error) {
			typeOfReq(req)
			return s.openConn(req.GetNode(), fixedType < 0, true)
		},
		func(c *conn, req *discoveryv3.DeltaDiscoveryRequest) error {
			typeOfReq(req)
			return s.handleDeltaRequest(c, req)
		},
		func(c *conn) error { return s.flushDelta(c, stream, &nonce) })
}

// handleDeltaRequest takes a subscription change, an ACK or a NACK.
func (s *Server) handleDeltaRequest(c *conn, req *discoveryv3.DeltaDiscoveryRequest) error {
	t, known, err := requestType(req.GetTypeUrl())
	if !known {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.opts.Clock.Now()
	first := !c.subs[t].requested
	// Subscription changes count whatever the nonce: a client may send them before it has answered
	// the last response. Only an ACK or NACK must name the response it answers.
	if first || len(req.GetResourceNamesSubscribe()) > 0 || len(req.GetResourceNamesUnsubscribe()) > 0 {
		// (Not on a plain ACK: that would copy thousands of names, and filter every set again.)
		c.subscribe(t, s.subscriptions.share(c.subs[t].changed(first, req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe())))
	}
	if len(req.GetResourceNamesUnsubscribe()) > 0 {
		c.holdsSet[t] = c.holdsSet[t].without(req.GetResourceNamesUnsubscribe()) // the client dropped them itself
	}
	if first && len(req.GetInitialResourceVersions()) > 0 {
		// A reconnecting client has these already: what is unchanged is not sent again.
		c.holdsSet[t] = heldVersions(req.GetInitialResourceVersions())
		c.holds[t] = c.holdsSet[t].version
	}
	if nonce := req.GetResponseNonce(); nonce != "" && nonce == c.sent[t].Nonce && c.inflight[t] {
		c.inflight[t] = false
		s.takeAnswer(c, t, exchange{Version: c.sent[t].Version, Nonce: nonce, At: now}, req.GetErrorDetail().GetMessage(), req.GetErrorDetail() != nil)
	}
	s.decide(c, now, false)
	return nil
}

// flushDelta sends, in type order, every Delta response that is due.
func (s *Server) flushDelta(c *conn, stream deltaStream, nonce *int64) error {
	return sendAll(s, c, s.dueDeltaResponses(c, nonce), stream.SendMsg)
}

// dueDeltaResponses builds the Delta responses due on a conn: for each type, the resources whose
// content the client does not have, and the names of those it has that are gone.
func (s *Server) dueDeltaResponses(c *conn, nonce *int64) []*deltaResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*deltaResponse
	now := s.opts.Clock.Now()
	for t := range numTypes {
		if !c.due(t) {
			continue
		}
		set := c.published[t]
		changed, removed := set.changedSince(c.holdsSet[t]), c.holdsSet[t].missingFrom(set)
		c.holds[t], c.holdsSet[t] = set.version, set
		if len(changed) == 0 && len(removed) == 0 && c.sent[t].Nonce != "" {
			continue // nothing the client lacks; the first response of a type goes out even empty
		}
		*nonce++
		resp := &deltaResponse{version: set.version, typeURL: typeURLs[t], nonce: strconv.FormatInt(*nonce, 10), removed: removed, entries: changed}
		c.sent[t] = exchange{Version: set.version, Nonce: resp.nonce, At: now}
		c.inflight[t] = true
		s.pushes.sent(c, t, now)
		c.remember(t, set)
		out = append(out, resp)
	}
	return out
}

// named lists the resources of a sent set whose names a NACK's message mentions.
func (c *conn) named(t int, version, message string) []string {
	set, ok := c.recentSet(t, version)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range set.entries {
		if strings.Contains(message, e.name) {
			out = append(out, e.name)
		}
	}
	return out
}

// takeAnswer records an ACK or NACK of the response ex: the client's accepted set, or what it
// refused and why. The conn's lock is held.
func (s *Server) takeAnswer(c *conn, t int, ex exchange, message string, refused bool) {
	s.releaseBudget(c, t) // the client has read the response
	if refused {
		c.nack[t] = nackRecord{exchange: ex, Message: message, Resources: c.named(t, ex.Version, message)}
		c.holds[t], c.holdsSet[t] = c.ackedSet[t].version, c.ackedSet[t] // the client keeps what it last accepted
		s.opts.Metrics.nacked(t)
		s.pushes.answered(c, t, ex.At, message)
		s.log.Warn("proxy rejected config", zap.String("node", c.proxy.ID), zap.Int64("stream", c.id), zap.String("protocol", c.protocol()),
			zap.String("type", typeShort[t]), zap.Strings("resources", c.nack[t].Resources), zap.String("version", ex.Version), zap.String("error", message))
		if snap := s.snapshot.Load(); snap != nil && len(c.nack[t].Resources) > 0 {
			// The objects behind the refused resources, from the current snapshot (the refused
			// response was made from it or, if a push came since, one shortly before).
			s.rejections.refused(rejection{snap: snap, proxy: c.proxy, listeners: c.listenerNames(), t: t,
				resources: c.nack[t].Resources, message: message})
		}
		return
	}
	c.acked[t] = ex
	s.pushes.answered(c, t, ex.At, "")
	set, ok := c.recentSet(t, ex.Version)
	if !ok {
		return
	}
	c.ackedSet[t] = set
	if !set.changedAt.IsZero() {
		// From the change, or from the connection for a proxy that connected after it.
		since := set.changedAt
		if c.connectedAt.After(since) {
			since = c.connectedAt
		}
		s.opts.Metrics.convergence.WithLabelValues(typeShort[t]).Observe(s.opts.Clock.Now().Sub(since).Seconds())
	}
}
