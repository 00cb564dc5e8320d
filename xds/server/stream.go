package server

import (
	"errors"
	"io"
	"strconv"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
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
// One goroutine reads requests; this one handles them and sends every response, so that responses
// go out in the order they were decided (CDS, EDS, LDS, RDS within a push) and a slow client only
// ever delays itself.
func (s *Server) serve(stream sotwStream, fixedType int) error {
	if s.isDraining() {
		s.opts.Metrics.refused.WithLabelValues("draining").Inc()
		return errDraining
	}
	ctx := stream.Context()
	reqs := make(chan *discoveryv3.DiscoveryRequest)
	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
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
	var nonce int64
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
			if req.GetTypeUrl() == "" && fixedType >= 0 {
				req.TypeUrl = typeURLs[fixedType]
			}
			if c == nil {
				var err error
				if c, err = s.openConn(req, fixedType < 0); err != nil {
					s.opts.Metrics.refused.WithLabelValues(refusalReason(err)).Inc()
					return err
				}
				wake, stop = c.wake, c.stop
			}
			if err := s.handleRequest(c, req); err != nil {
				return err
			}
		case <-wake:
		}
		if err := s.flush(c, stream, &nonce); err != nil {
			return err
		}
	}
}

// flush sends, in type order, every response that is due.
func (s *Server) flush(c *conn, stream sotwStream, nonce *int64) error {
	if c == nil {
		return nil
	}
	for _, resp := range s.dueResponses(c, nonce) {
		if err := stream.Send(resp); err != nil {
			return err
		}
		s.opts.Metrics.pushes.WithLabelValues(typeShort[typeOf(resp.TypeUrl)]).Inc()
	}
	return nil
}

// partial marks the types whose State-of-the-World responses may carry only the resources that
// changed; for clusters and listeners every response is the whole set.
var partial = [numTypes]bool{eds: true, rds: true}

// dueResponses builds the responses due on a conn from the sets' stored wire bytes and records them
// as sent.
func (s *Server) dueResponses(c *conn, nonce *int64) []*discoveryv3.DiscoveryResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*discoveryv3.DiscoveryResponse
	now := s.opts.Clock.Now()
	for t := range numTypes {
		if !c.due(t) {
			continue
		}
		set := c.published[t]
		send := set
		if partial[t] && c.holdsSet[t].version != "" {
			// An EDS or RDS response need only carry what changed: the client keeps the rest. An
			// endpoint change to one service sends one assignment, not thousands.
			send = set.changedSince(c.holdsSet[t])
		}
		*nonce++
		resp := &discoveryv3.DiscoveryResponse{VersionInfo: set.version, TypeUrl: typeURLs[t], Nonce: strconv.FormatInt(*nonce, 10),
			Resources: make([]*anypb.Any, len(send.raw))}
		for i, raw := range send.raw {
			resp.Resources[i] = &anypb.Any{TypeUrl: typeURLs[t], Value: raw}
		}
		c.sent[t] = exchange{Version: set.version, Nonce: resp.Nonce, At: now}
		c.inflight[t], c.holds[t], c.holdsSet[t] = true, set.version, set
		c.remember(t, set)
		out = append(out, resp)
	}
	return out
}

// handleRequest takes an ACK, a NACK or a new subscription, and decides what the stream gets next.
func (s *Server) handleRequest(c *conn, req *discoveryv3.DiscoveryRequest) error {
	t, known := typeIndex(req.GetTypeUrl())
	if !known {
		if req.GetTypeUrl() == "" {
			return status.Error(codes.InvalidArgument, "an ADS request must name its type_url")
		}
		return nil // a type minipilot does not serve: nothing is answered, as Envoy expects
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.opts.Clock.Now()
	nonce := req.GetResponseNonce()
	if c.sent[t].Nonce != "" && nonce != c.sent[t].Nonce {
		return nil // a stale request, answering an older response: the protocol says to ignore it
	}
	if nonce != "" {
		c.inflight[t] = false
		ex := exchange{Version: c.sent[t].Version, Nonce: nonce, At: now}
		if detail := req.GetErrorDetail(); detail != nil {
			c.nack[t] = nackRecord{exchange: ex, Message: detail.GetMessage()}
			c.holds[t], c.holdsSet[t] = c.ackedSet[t].version, c.ackedSet[t] // the client keeps what it last accepted
			s.opts.Metrics.nacks.WithLabelValues(typeShort[t]).Inc()
			s.log.Warn("proxy rejected config", zap.String("node", c.proxy.ID), zap.Int64("stream", c.id),
				zap.String("type", typeShort[t]), zap.String("version", ex.Version), zap.String("error", detail.GetMessage()))
		} else {
			c.acked[t] = ex
			if set, ok := c.recentSet(t, ex.Version); ok {
				c.ackedSet[t] = set
				if !set.changedAt.IsZero() {
					// From the change, or from the connection for a proxy that connected after it.
					since := set.changedAt
					if c.connectedAt.After(since) {
						since = c.connectedAt
					}
					s.opts.Metrics.convergence.WithLabelValues(typeShort[t]).Observe(now.Sub(since).Seconds())
				}
			}
		}
	}
	sub := newSubscription(req.GetResourceNames())
	resubscribed := !c.subs[t].sameAs(sub)
	c.subs[t] = sub

	snap := s.snapshot.Load()
	if snap == nil {
		return nil // not synced yet: the first push will answer
	}
	if c.generation != snap.Generation || (c.proxy.Proxyless && t == lds && resubscribed) {
		_ = c.translate(snap, s.translationsOf(snap))
	}
	c.publish(now, s.opts.StageTimeout)
	return nil
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
