package server

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	xdsserver "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callbacks hooks the server into go-control-plane's stream handling. OnStreamRequest runs before the
// cache sees a request, which is what lets it refuse a NACKed set before the cache would resend it.
func (s *Server) callbacks() xdsserver.Callbacks {
	return xdsserver.CallbackFuncs{
		StreamOpenFunc:     func(context.Context, int64, string) error { return nil },
		StreamClosedFunc:   s.onStreamClosed,
		StreamRequestFunc:  s.onStreamRequest,
		StreamResponseFunc: s.onStreamResponse,
	}
}

// node returns the state of the stream's node, creating it on the stream's first request.
func (s *Server) node(stream int64, req *discoveryv3.DiscoveryRequest) (*nodeState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.streams[stream]; ok {
		return s.nodes[id], nil
	}
	proxy, err := proxyFromNode(req.GetNode())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	n, ok := s.nodes[proxy.ID]
	if !ok {
		n = &nodeState{id: proxy.ID, proxy: proxy, connectedAt: s.opts.Clock.Now(), streams: map[int64]*streamState{}}
		s.nodes[proxy.ID] = n
		s.opts.Metrics.proxies.Inc()
		s.log.Info("proxy connected", zap.String("node", proxy.ID), zap.Bool("proxyless", proxy.Proxyless),
			zap.String("namespace", proxy.Namespace))
	}
	n.mu.Lock()
	n.streams[stream] = &streamState{}
	n.mu.Unlock()
	s.streams[stream] = proxy.ID
	return n, nil
}

func (s *Server) onStreamRequest(stream int64, req *discoveryv3.DiscoveryRequest) error {
	t, known := typeIndex(req.GetTypeUrl())
	n, err := s.node(stream, req)
	if err != nil {
		return err
	}
	if !known {
		return nil // a type minipilot does not serve: the cache answers nothing, as Envoy expects
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.streams[stream]
	now := s.opts.Clock.Now()
	nonce := req.GetResponseNonce()
	if st.sentNonce[t] != "" && nonce != st.sentNonce[t] {
		return nil // stale: go-control-plane drops it right after this callback, so must we
	}
	if nonce != "" {
		ex := exchange{Version: n.sent[t].Version, Nonce: nonce, At: now}
		if detail := req.GetErrorDetail(); detail != nil {
			n.nack[t] = nackRecord{exchange: ex, Message: detail.GetMessage()}
			s.opts.Metrics.nacks.WithLabelValues(typeShort[t]).Inc()
			s.log.Warn("proxy rejected config", zap.String("node", n.id), zap.String("type", typeShort[t]),
				zap.String("version", ex.Version), zap.String("error", detail.GetMessage()))
		} else {
			n.acked[t] = ex
			if set, ok := n.recentSet(t, ex.Version); ok {
				n.ackedSet[t] = set
				if !set.changedAt.IsZero() {
					s.opts.Metrics.convergence.WithLabelValues(typeShort[t]).Observe(now.Sub(set.changedAt).Seconds())
				}
			}
		}
	}
	sub := newSubscription(req.GetResourceNames())
	resubscribed := !st.subs[t].sameAs(sub)
	st.subs[t] = sub

	snap := s.snapshot.Load()
	if snap == nil {
		return nil // not synced yet: the first push will answer
	}
	if n.generation != snap.Generation || (n.proxy.Proxyless && t == lds && resubscribed) {
		s.translateLocked(n, snap, s.translationsOf(snap))
	}
	s.publishLocked(n)
	return nil
}

func (s *Server) onStreamResponse(_ context.Context, stream int64, req *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
	t, known := typeIndex(resp.GetTypeUrl())
	if !known {
		return
	}
	s.mu.Lock()
	n := s.nodes[s.streams[stream]]
	s.mu.Unlock()
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if st := n.streams[stream]; st != nil {
		st.sentNonce[t] = resp.GetNonce()
	}
	n.sent[t] = exchange{Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(), At: s.opts.Clock.Now()}
	s.opts.Metrics.pushes.WithLabelValues(typeShort[t]).Inc()
}

// onStreamClosed forgets the stream, and the node with its last stream: go-control-plane's cache
// would otherwise keep every node it ever saw.
func (s *Server) onStreamClosed(stream int64, _ *corev3.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.streams[stream]
	if !ok {
		return
	}
	delete(s.streams, stream)
	n := s.nodes[id]
	n.mu.Lock()
	delete(n.streams, stream)
	last := len(n.streams) == 0
	n.mu.Unlock()
	if last {
		delete(s.nodes, id)
		s.cache.clear(id)
		s.opts.Metrics.proxies.Dec()
		s.log.Info("proxy disconnected", zap.String("node", id))
	}
}
