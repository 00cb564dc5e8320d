package auth

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/minipilot/minipilot/model"
)

// StreamInterceptor authenticates every stream before it is served, and authorizes the node its
// first request claims before the server sees that request.
func (g *Guard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		id, err := g.authenticateContext(ss.Context())
		if err != nil {
			return err
		}
		as := &authorizedStream{ServerStream: ss, guard: g, id: id, peer: peerAddr(ss.Context())}
		defer as.close()
		return handler(srv, as)
	}
}

// UnaryInterceptor does the same for unary calls (the per-type Fetch RPCs).
func (g *Guard) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id, err := g.authenticateContext(ctx)
		if err != nil {
			return nil, err
		}
		if n, ok := req.(nodeCarrier); ok {
			if err := g.Authorize(id, n.GetNode(), peerAddr(ctx)); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// nodeCarrier is every xDS request: SotW and Delta requests both name their node.
type nodeCarrier interface{ GetNode() *corev3.Node }

// authorizedStream checks the node of the stream's first request; the server takes the node from
// that request and never changes it, so later ones need no check.
type authorizedStream struct {
	grpc.ServerStream
	guard   *Guard
	id      model.Identity
	peer    string
	checked bool // RecvMsg is called from one goroutine at a time

	// The stream's entry in the guard's open streams, once its node is authorized. The server's
	// receiving goroutine may outlive the handler, so registering and closing are locked.
	mu         sync.Mutex
	registered int64
	closed     bool
}

// close forgets the stream when its handler returns.
func (s *authorizedStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.registered != 0 {
		s.guard.streams.remove(s.registered)
	}
}

func (s *authorizedStream) register(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.registered = s.guard.streams.add(Stream{Node: node, Identity: s.id.SPIFFEID(), Via: s.id.Via, Peer: s.peer})
	}
}

func (s *authorizedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.checked {
		return nil
	}
	s.checked = true
	n, _ := m.(nodeCarrier)
	if n == nil {
		// Fail closed: a message the guard cannot read the node of is not let through unchecked.
		return status.Errorf(codes.Internal, "cannot authorize a stream whose first message (%T) names no node", m)
	}
	if err := s.guard.Authorize(s.id, n.GetNode(), s.peer); err != nil {
		return err
	}
	s.register(n.GetNode().GetId())
	return nil
}

func (g *Guard) authenticateContext(ctx context.Context) (model.Identity, error) {
	id, err := g.Authenticate(ctx, BearerToken(metadata.ValueFromIncomingContext(ctx, "authorization")), peerChain(ctx))
	if err != nil {
		g.opts.Log.Info("xDS client refused: not authenticated", zap.String("peer", peerAddr(ctx)), zap.String("reason", status.Convert(err).Message()))
	}
	return id, err
}

// BearerToken is the token of an "authorization: Bearer <token>" value, or "".
func BearerToken(values []string) string {
	for _, v := range values {
		if scheme, token, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.EqualFold(scheme, "bearer") {
			if token = strings.TrimSpace(token); token != "" {
				return token
			}
		}
	}
	return ""
}

// peerChain is the certificate chain the client presented in the TLS handshake, leaf first.
func peerChain(ctx context.Context) []*x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		return info.State.PeerCertificates
	}
	return nil
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
