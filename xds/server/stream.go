package server

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sotwStream is what the ADS stream and the per-type streams (CDS, EDS, LDS, RDS) have in common.
type sotwStream interface {
	grpc.ServerStream
	Send(*discoveryv3.DiscoveryResponse) error
	Recv() (*discoveryv3.DiscoveryRequest, error)
}

// errDraining refuses streams while pilot shuts down, so that proxies go to another replica.
var errDraining = status.Error(codes.Unavailable, "pilot is shutting down: connect to another replica")

// serve runs one State-of-the-World stream. fixedType is the type of a per-type stream, -1 for ADS.
func (s *Server) serve(stream sotwStream, fixedType int) error {
	var nonce int64
	typed := func(req *request) *request {
		if req.msg.GetTypeUrl() == "" && fixedType >= 0 {
			req.msg.TypeUrl = typeURLs[fixedType]
		}
		return req
	}
	return serveStream(s, stream.Context(), func() (*request, error) { return recvRequest(stream) },
		func(req *request) (*conn, error) { return s.openConn(typed(req).msg.GetNode(), fixedType < 0, false) },
		func(c *conn, req *request) error {
			defer req.free()
			return s.handleRequest(c, typed(req))
		},
		func(c *conn) error { return s.flush(c, stream, &nonce) })
}

// recvRequest reads a request with the server's codec, which keeps its names encoded (request).
func recvRequest(stream grpc.ServerStream) (*request, error) {
	req := &request{}
	if err := stream.RecvMsg(req); err != nil {
		return nil, err
	}
	return req, nil
}

// serveStream is the loop of every stream, SotW or Delta. One goroutine reads requests; this one
// handles them and sends every response, so that responses go out in the order they were decided
// (CDS, EDS, LDS, RDS within a push) and a slow client only ever delays itself.
func serveStream[Req any](s *Server, ctx context.Context, recv func() (Req, error),
	open func(Req) (*conn, error), handle func(*conn, Req) error, flush func(*conn) error) error {
	if s.isDraining() {
		s.opts.Metrics.refused.WithLabelValues("draining").Inc()
		return errDraining
	}
	reqs := make(chan Req)
	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()

	var c *conn
	var wake <-chan struct{}
	var stop <-chan struct{} = s.draining
	defer func() {
		if c != nil {
			s.closeConn(c)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return errDraining
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case req := <-reqs:
			if c == nil {
				var err error
				if c, err = open(req); err != nil {
					s.opts.Metrics.refused.WithLabelValues(refusalReason(err)).Inc()
					return err
				}
				wake, stop = c.wake, c.stop
				c.ctx = ctx
			}
			if err := handle(c, req); err != nil {
				return err
			}
		case <-wake:
		}
		if c != nil {
			if err := flush(c); err != nil {
				return err
			}
		}
	}
}

// flush sends, in type order, every response that is due.
func (s *Server) flush(c *conn, stream sotwStream, nonce *int64) error {
	return sendAll(s, c, s.dueResponses(c, nonce), stream.SendMsg)
}

// partial marks the types whose State-of-the-World responses may carry only the resources that
// changed; for clusters and listeners every response is the whole set.
var partial = [numTypes]bool{eds: true, rds: true}

// dueResponses builds the responses due on a conn from the sets' stored wire bytes and records them
// as sent.
func (s *Server) dueResponses(c *conn, nonce *int64) []*sotwResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sotwResponse
	now := s.opts.Clock.Now()
	for t := range numTypes {
		if !c.due(t) {
			continue
		}
		set := c.published[t]
		send := set.entries
		if partial[t] && c.holdsSet[t].version != "" {
			// An EDS or RDS response need only carry what changed: the client keeps the rest. An
			// endpoint change to one service sends one assignment, not thousands.
			send = set.changedSince(c.holdsSet[t])
		}
		*nonce++
		resp := &sotwResponse{version: set.version, typeURL: typeURLs[t], nonce: strconv.FormatInt(*nonce, 10), entries: send}
		if ce := s.log.Check(zap.DebugLevel, "response"); ce != nil {
			ce.Write(zap.String("node", c.proxy.ID), zap.Int64("stream", c.id), zap.String("type", typeShort[t]), zap.String("nonce", resp.nonce),
				zap.String("version", set.version), zap.Strings("resources", names(send)))
		}
		c.sent[t] = exchange{Version: set.version, Nonce: resp.nonce, At: now}
		c.inflight[t], c.holds[t], c.holdsSet[t] = true, set.version, set
		s.pushes.sent(c, t, now)
		c.remember(t, set)
		out = append(out, resp)
	}
	return out
}

// handleRequest takes an ACK, a NACK or a new subscription, and decides what the stream gets next.
func (s *Server) handleRequest(c *conn, req *request) error {
	msg := req.msg
	t, known, err := requestType(msg.GetTypeUrl())
	if !known {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.opts.Clock.Now()
	nonce := msg.GetResponseNonce()
	if c.sent[t].Nonce != "" && nonce != c.sent[t].Nonce {
		if ce := s.log.Check(zap.DebugLevel, "stale request ignored"); ce != nil {
			names, _ := req.resourceNames()
			ce.Write(zap.String("node", c.proxy.ID), zap.Int64("stream", c.id), zap.String("type", typeShort[t]),
				zap.String("nonce", nonce), zap.String("sentNonce", c.sent[t].Nonce), zap.Strings("resources", names))
		}
		return nil // a stale request, answering an older response: the protocol says to ignore it
	}
	if ce := s.log.Check(zap.DebugLevel, "request"); ce != nil {
		names, _ := req.resourceNames()
		ce.Write(zap.String("node", c.proxy.ID), zap.Int64("stream", c.id), zap.String("type", typeShort[t]), zap.String("nonce", nonce),
			zap.Bool("nack", msg.GetErrorDetail() != nil), zap.Strings("resources", names))
	}
	if nonce != "" {
		c.inflight[t] = false
		s.takeAnswer(c, t, exchange{Version: c.sent[t].Version, Nonce: nonce, At: now}, msg.GetErrorDetail().GetMessage(), msg.GetErrorDetail() != nil)
	}
	resubscribed := false
	if key := req.key; !c.subs[t].requested || key != c.subNames[t] {
		// (The usual request, an ACK naming what the last one named, is decided without decoding
		// its names.)
		sub, err := s.subscriptions.subscription(req)
		if err != nil {
			return err
		}
		resubscribed = !c.subs[t].sameAs(sub)
		if added := sub.namesNotIn(c.subs[t]); len(added) > 0 && c.holds[t] != "" {
			// A client forgets what it unsubscribes from (gRPC drops it from its cache at once), so
			// a name it asks for again must be sent again, even when the set's version is the one
			// it was last sent: otherwise it waits for it in vain, and after its watch timeout
			// calls it removed.
			c.holdsSet[t] = c.holdsSet[t].without(added)
			c.holds[t] = c.holdsSet[t].version
		}
		c.subscribe(t, sub)
		c.subNames[t] = key
	}

	s.decide(c, now, c.proxy.Proxyless && t == lds && resubscribed)
	return nil
}

// decide brings a stream whose lock is held to the current snapshot (translating again when it is
// behind, or when retranslate: a gRPC client named other listeners) and publishes what it gets next.
func (s *Server) decide(c *conn, now time.Time, retranslate bool) {
	snap := s.snapshot.Load()
	if snap == nil {
		return // not synced yet: the first push will answer
	}
	if c.generation != snap.Generation || retranslate {
		_ = c.translate(snap, s.translationsOf(snap))
	}
	c.publish(now, s.opts.StageTimeout)
}

// requestType reads a request's type. A type minipilot does not serve is not an error: nothing is
// answered, as Envoy expects; a missing one is.
func requestType(url string) (int, bool, error) {
	if t, ok := typeIndex(url); ok {
		return t, true, nil
	}
	if url == "" {
		return 0, false, status.Error(codes.InvalidArgument, "an ADS request must name its type_url")
	}
	return 0, false, nil
}

func refusalReason(err error) string {
	if errors.Is(err, errDraining) {
		return "draining"
	}
	return "node"
}

func typeOf(url string) int {
	t, _ := typeIndex(url)
	return t
}

// names lists the names of some resources, for debug logs.
func names(rs []*resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.name
	}
	return out
}
