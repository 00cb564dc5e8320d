// Package server is minipilot's ADS server: go-control-plane's State-of-the-World server and snapshot
// cache, with per-node snapshots translated from the model, and the library's pitfalls handled:
// pushes are ordered CDS → EDS → LDS → RDS with LDS and RDS held until new clusters have endpoints,
// a refused (NACKed) set is not sent again, a client is only ever offered the resources it asked for,
// and a node's state goes when its last stream closes.
package server

import (
	"context"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	xdsserver "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/model"
)

// Options configure a Server.
type Options struct {
	// Debounce is how long the model must be quiet before a push; MaxDelay caps how long a push
	// may wait for quiet.
	Debounce time.Duration
	MaxDelay time.Duration
	// StageTimeout is how long LDS and RDS wait for a node to take the endpoints of new clusters.
	StageTimeout time.Duration
	Clock        clock.WithTicker
	Log          *zap.Logger
	Metrics      *Metrics
}

// Server serves xDS from the model in a store.
type Server struct {
	opts  Options
	store *model.Store
	log   *zap.Logger
	cache *watchCache
	xds   xdsserver.Server

	// snapshot is the model snapshot proxies are being served; nil until every source has synced,
	// so that no proxy is ever sent an empty or partial config while pilot starts.
	snapshot atomic.Pointer[model.Snapshot]
	// translations of the current snapshot, shared by the push and by proxies connecting after it.
	translations atomic.Pointer[translationCache]

	mu      sync.Mutex
	nodes   map[string]*nodeState
	streams map[int64]string // stream → node ID
}

// New builds a server over the store's model.
func New(store *model.Store, opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.StageTimeout == 0 {
		opts.StageTimeout = 5 * time.Second
	}
	s := &Server{
		opts:    opts,
		store:   store,
		log:     opts.Log.With(zap.String("component", "xds")),
		nodes:   map[string]*nodeState{},
		streams: map[int64]string{},
	}
	s.cache = newWatchCache(s.fetch)
	return s
}

// Register adds the ADS service (and the per-type services, for clients that do not aggregate) to
// a gRPC server. ctx ends the streams.
func (s *Server) Register(ctx context.Context, g *grpc.Server) {
	// WithOrderedADS matters: without it the library sends each type from its own channel, in
	// whatever order a select picks, and CDS → EDS → LDS → RDS is lost.
	s.xds = xdsserver.NewServer(ctx, s.cache, s.callbacks(), sotw.WithOrderedADS(),
		sotw.WithLogger(zapLogger{s.log.Named("go-control-plane").Sugar()}))
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
	clusterservice.RegisterClusterDiscoveryServiceServer(g, s.xds)
	endpointservice.RegisterEndpointDiscoveryServiceServer(g, s.xds)
	listenerservice.RegisterListenerDiscoveryServiceServer(g, s.xds)
	routeservice.RegisterRouteDiscoveryServiceServer(g, s.xds)
}

// XDS is the go-control-plane server, for the REST gateway. Register must have been called.
func (s *Server) XDS() xdsserver.Server { return s.xds }

// Ready says whether proxies are being served: every model source has synced.
func (s *Server) Ready() bool { return s.snapshot.Load() != nil }

// Run pushes model changes to connected proxies until ctx ends.
func (s *Server) Run(ctx context.Context) {
	ticker := s.opts.Clock.NewTicker(time.Second)
	defer ticker.Stop()
	d := newDebouncer(s.opts.Clock, s.opts.Debounce, s.opts.MaxDelay)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.store.Changes():
			d.event()
		case <-d.fire():
			d.fired()
			s.pushAll()
		case <-ticker.C():
			s.releaseStaged()
		}
	}
}

// pushAll takes a new model snapshot and publishes it to every node.
func (s *Server) pushAll() {
	if !s.store.Synced() {
		return // the Synced signal of the last source brings us back here
	}
	start := s.opts.Clock.Now()
	snap := s.store.Snapshot()
	prev := s.snapshot.Swap(snap)
	if prev != nil && prev.Generation == snap.Generation {
		return
	}
	nodes := s.nodeList()
	cache := s.translationsOf(snap)
	work := make(chan *nodeState)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(nodes), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				s.refresh(n, snap, cache)
			}
		}()
	}
	for _, n := range nodes {
		work <- n
	}
	close(work)
	wg.Wait()
	s.opts.Metrics.pushTime.Observe(s.opts.Clock.Since(start).Seconds())
	s.log.Info("pushed model", zap.Uint64("generation", snap.Generation), zap.Int("proxies", len(nodes)),
		zap.Duration("took", s.opts.Clock.Since(start)))
}

// translationsOf returns the translation cache of a snapshot, starting a new one for a new snapshot.
func (s *Server) translationsOf(snap *model.Snapshot) *translationCache {
	for {
		cur := s.translations.Load()
		if cur != nil && cur.generation == snap.Generation {
			return cur
		}
		next := newTranslationCache(snap.Generation)
		if s.translations.CompareAndSwap(cur, next) {
			return next
		}
	}
}

func (s *Server) nodeList() []*nodeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*nodeState, 0, len(s.nodes))
	for _, n := range s.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// refresh translates the snapshot for a node (unless it already has it) and publishes.
func (s *Server) refresh(n *nodeState, snap *model.Snapshot, cache *translationCache) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.generation == snap.Generation && n.generation != 0 {
		return
	}
	s.translateLocked(n, snap, cache)
	s.publishLocked(n)
}

// translateLocked computes the node's desired resources from a snapshot.
func (s *Server) translateLocked(n *nodeState, snap *model.Snapshot, cache *translationCache) {
	var listeners []string
	if n.proxy.Proxyless {
		listeners = n.listenerNames()
	}
	tr := cache.get(snap, n.proxy, listeners)
	n.generation = snap.Generation
	n.desired = tr.sets
	if !slices.Equal(n.warnings, tr.warnings) {
		for _, w := range tr.warnings {
			s.log.Warn("translation", zap.String("node", n.id), zap.String("warning", w))
		}
	}
	n.warnings = tr.warnings
}

// publishLocked offers the node its next sets; the watch cache answers its open watches (in CDS,
// EDS, LDS, RDS order) for every type whose version changed.
func (s *Server) publishLocked(n *nodeState) {
	if n.generation == 0 {
		return // nothing translated yet: the model has not synced
	}
	if n.proxy.Proxyless && !n.subscription(lds).requested {
		// A gRPC client's listeners decide everything else it gets. One that reconnects (to a restarted
		// pilot, say) may ask for clusters before it names its listeners; answering then would tell it
		// that every cluster it uses is gone.
		return
	}
	next := n.next(s.opts.Clock.Now(), s.opts.StageTimeout)
	changed := false
	for t := range numTypes {
		if next[t].version != n.published[t].version {
			changed = true
		}
		n.remember(t, next[t])
	}
	if !changed && n.published[cds].version != "" {
		return
	}
	n.published = next
	s.cache.set(n.id, next)
}

// releaseStaged publishes to nodes whose LDS and RDS have waited too long for EDS.
func (s *Server) releaseStaged() {
	now := s.opts.Clock.Now()
	for _, n := range s.nodeList() {
		n.mu.Lock()
		if n.staged && now.Sub(n.stagedAt) > s.opts.StageTimeout {
			s.log.Warn("node did not take the endpoints of new clusters in time; sending listeners and routes anyway",
				zap.String("node", n.id))
			s.publishLocked(n)
		}
		n.mu.Unlock()
	}
}

// zapLogger adapts zap to go-control-plane's logger. Its warnings go to debug too: the one its server
// gives in normal operation (a request with a stale nonce, skipped) is the protocol working.
type zapLogger struct{ l *zap.SugaredLogger }

func (z zapLogger) Debugf(format string, args ...any) { z.l.Debugf(format, args...) }
func (z zapLogger) Infof(format string, args ...any)  { z.l.Debugf(format, args...) }
func (z zapLogger) Warnf(format string, args ...any)  { z.l.Debugf(format, args...) }
func (z zapLogger) Errorf(format string, args ...any) { z.l.Errorf(format, args...) }
