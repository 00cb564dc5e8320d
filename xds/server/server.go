// Package server is minipilot's xDS server: State-of-the-World ADS (and the per-type services) over
// gRPC, with each stream's config translated from the model. Pushes are ordered CDS → EDS → LDS →
// RDS with LDS and RDS held until new clusters have endpoints, a refused (NACKed) set is not sent
// again, a client is only ever sent the resources it asked for and never a set that is not decided
// yet, every stream has its own state (two streams with one node ID do not share it), and on
// shutdown the streams are closed one by one over a grace period.
package server

import (
	"context"
	"hash/maphash"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// Options configure a Server.
type Options struct {
	// Debounce is how long the model must be quiet before a push; MaxDelay caps how long a push
	// may wait for quiet. A change to endpoints alone waits EndpointDebounce, at most
	// EndpointMaxDelay.
	Debounce         time.Duration
	MaxDelay         time.Duration
	EndpointDebounce time.Duration
	EndpointMaxDelay time.Duration
	// StageTimeout is how long LDS and RDS wait for a client to take the endpoints of new clusters.
	StageTimeout time.Duration
	Clock        clock.WithTicker
	Log          *zap.Logger
	Metrics      *Metrics
	// Report, when set, hears of each new translation warning once (to record a Kubernetes Event on
	// the rule responsible, say). It must not block.
	Report func(translate.Warning)
	// SendBudget bounds the memory held by responses sent and not yet answered, across all
	// streams (budget.go); 64 MiB when zero.
	SendBudget int64
	// ReportRejection, when set, hears once of each resource a proxy refused (NACKed), for each
	// config object it was built from (a Kubernetes Event on the rule, say). It must not block.
	ReportRejection func(translate.Warning)
	// Version and InstanceID identify this pilot to istioctl (the debug types' control_plane).
	Version    string
	InstanceID string
}

// Server serves xDS from the model in a store.
type Server struct {
	opts  Options
	store *model.Store
	log   *zap.Logger

	// snapshot is the model snapshot proxies are being served; nil until every source has synced,
	// so that no proxy is ever sent an empty or partial config while pilot starts.
	snapshot atomic.Pointer[model.Snapshot]
	// translations of the current snapshot, shared by the push and by proxies connecting after it.
	translations atomic.Pointer[translationCache]
	warnings     *warningLog
	rejections   *rejectionReporter
	// pushes remembers the last pushes, who was sent each and when they took it (/debug/pushz).
	pushes *pushLog

	mu      sync.Mutex
	conns   map[int64]*conn
	perNode map[string]int // open streams by node ID, for the connected-proxies gauge
	nextID  int64
	// sending bounds the response bytes held for clients that have not taken them yet (budget.go).
	sending *semaphore.Weighted
	// draining closes when shutdown begins: no new streams, readiness off.
	draining  chan struct{}
	drainOnce sync.Once
	// seed hashes the names of requests (namesKey): random, so that no client can aim at a collision.
	seed          maphash.Seed
	subscriptions *subscriptionTable
	// translating bounds the views translated at once to half the cores (translationCache.translating).
	translating chan struct{}
}

// translationTurns is how many views may be translated at once on so many cores: half of them,
// for the other half serves the streams what is translated. On two cores, one: hundreds of sidecars
// connecting took as long as with two (the sending is the other core's work), and the garbage of one
// view's protos at a time, not two, is what the heap grows to (1,000 × 10, 500 sidecars: RSS peak
// 457 → 353 MiB).
func translationTurns(cores int) int { return max(1, cores/2) }

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
	if opts.EndpointDebounce == 0 && opts.EndpointMaxDelay == 0 {
		opts.EndpointDebounce, opts.EndpointMaxDelay = min(opts.Debounce, 10*time.Millisecond), min(opts.MaxDelay, 100*time.Millisecond)
	}
	if opts.StageTimeout == 0 {
		opts.StageTimeout = 5 * time.Second
	}
	if opts.SendBudget <= 0 {
		opts.SendBudget = defaultSendBudget
	}
	log := opts.Log.With(zap.String("component", "xds"))
	seed := maphash.MakeSeed()
	return &Server{
		opts:          opts,
		store:         store,
		log:           log,
		warnings:      newWarningLog(log, opts.Report),
		rejections:    newRejectionReporter(log, opts.ReportRejection),
		pushes:        newPushLog(pushLogSize, opts.Metrics),
		conns:         map[int64]*conn{},
		perNode:       map[string]int{},
		draining:      make(chan struct{}),
		sending:       semaphore.NewWeighted(opts.SendBudget),
		seed:          seed,
		subscriptions: newSubscriptionTable(seed),
		translating:   make(chan struct{}, translationTurns(runtime.GOMAXPROCS(0))),
	}
}

// GRPCServer is a gRPC server (with opts) serving the ADS service, and the per-type services for
// clients that do not aggregate. It writes responses with the server's codec (codec.go), which a
// gRPC server cannot be given after it is made: hence this, not a Register for any server. Streams
// end when their client goes, or when Drain closes them; not when the gRPC server's listener stops.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	buffers := newBufferPool()
	g := grpc.NewServer(append([]grpc.ServerOption{grpc.ForceServerCodecV2(codec{seed: s.seed, buffers: buffers}),
		experimental.BufferPool(buffers)}, opts...)...)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, adsService{s: s})
	clusterservice.RegisterClusterDiscoveryServiceServer(g, clusterService{s: s})
	endpointservice.RegisterEndpointDiscoveryServiceServer(g, endpointService{s: s})
	listenerservice.RegisterListenerDiscoveryServiceServer(g, listenerService{s: s})
	routeservice.RegisterRouteDiscoveryServiceServer(g, routeService{s: s})
	return g
}

// Ready says whether proxies are being served: every model source has synced, and pilot is not
// shutting down.
func (s *Server) Ready() bool { return s.snapshot.Load() != nil && !s.isDraining() }

// Run pushes model changes to connected proxies until ctx ends. Every change is looked at after
// the short endpoint debounce: one that touched only endpoints is pushed then, on the fast path; any
// other waits for the config debounce, as a burst of config edits should be one push.
func (s *Server) Run(ctx context.Context) {
	ticker := s.opts.Clock.NewTicker(time.Second)
	defer ticker.Stop()
	fast := newDebouncer(s.opts.Clock, s.opts.EndpointDebounce, s.opts.EndpointMaxDelay)
	full := newDebouncer(s.opts.Clock, s.opts.Debounce, s.opts.MaxDelay)
	go s.rejections.run(ctx.Done())
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.store.Changes():
			fast.event()
			full.event()
		case <-fast.fire():
			fast.fired()
			s.push(true)
		case <-full.fire():
			full.fired()
			s.push(false)
		case <-ticker.C():
			s.releaseStaged() // and overdue send budget
		}
	}
}

// push takes a new model snapshot and publishes it to every stream; with endpointsOnly, only if
// nothing but endpoints changed.
func (s *Server) push(endpointsOnly bool) {
	if !s.store.Synced() {
		return // the Synced signal of the last source brings us back here
	}
	start := s.opts.Clock.Now()
	snap := s.store.Snapshot()
	prev := s.snapshot.Load()
	if prev != nil && prev.Generation == snap.Generation {
		return
	}
	change := model.Diff(prev, snap)
	switch {
	case change.Empty():
		return // new objects, same content (or only rejections changed): nothing to send
	case endpointsOnly && !change.EndpointsOnly() && prev != nil:
		return // a config change: the config debounce will push it (the first config goes at once)
	case len(change.Endpoints) > 0 && !s.endpointsOnlyInEDS(snap, change):
		change.Config, change.RoutingOnly = true, false // a DNS service's endpoints are in its clusters
	}
	s.publish(snap, change, start)
}

// publish moves every stream to a snapshot: each view is translated (or, for an endpoint-only
// change, patched) once, and each stream's loop is woken to send what changed.
func (s *Server) publish(snap *model.Snapshot, change model.Change, start time.Time) {
	cache := newTranslationCache(snap, s.warnings, s.opts.Metrics, s.translations.Load(), change)
	cache.translating = s.translating
	s.translations.Store(cache)
	s.snapshot.Store(snap)
	conns := s.connList()
	s.opts.Metrics.published(snap, change, start)
	s.pushes.begin(snap, change, start, conns)
	work := make(chan *conn)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(conns), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				s.refresh(c, snap, cache)
			}
		}()
	}
	for _, c := range conns {
		work <- c
	}
	close(work)
	wg.Wait()
	cache.release()
	took := s.opts.Clock.Since(start)
	s.opts.Metrics.pushTime.Observe(took.Seconds())
	s.log.Info("pushed model", zap.Uint64("generation", snap.Generation), zap.Bool("endpointsOnly", change.EndpointsOnly()),
		zap.Int("services", len(change.Endpoints)), zap.Int("streams", len(conns)), zap.Duration("took", took))
}

// endpointsOnlyInEDS says whether every service whose endpoints changed has them only in EDS.
func (s *Server) endpointsOnlyInEDS(snap *model.Snapshot, change model.Change) bool {
	for host := range change.Endpoints {
		if svc := snap.Service(host); svc != nil && !translate.EndpointsOnlyInEDS(svc) {
			return false
		}
	}
	return true
}

// translationsOf returns the translation cache of a snapshot: the push's, or (for a snapshot no
// push has published, which only happens in a race with one) a new one.
func (s *Server) translationsOf(snap *model.Snapshot) *translationCache {
	if cur := s.translations.Load(); cur != nil && cur.generation() == snap.Generation {
		return cur
	}
	cache := newTranslationCache(snap, s.warnings, s.opts.Metrics, nil, model.Change{})
	cache.translating = s.translating
	return cache
}

// connList returns the open streams, oldest first.
func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// refresh translates the snapshot for a stream (unless it already has it), decides what it gets,
// and wakes its loop to send that.
func (s *Server) refresh(c *conn, snap *model.Snapshot, cache *translationCache) {
	c.mu.Lock()
	if c.generation == snap.Generation && c.generation != 0 {
		c.mu.Unlock()
		return
	}
	_ = c.translate(snap, cache)
	due := c.publish(s.opts.Clock.Now(), s.opts.StageTimeout)
	c.mu.Unlock()
	if due {
		c.notify()
	}
}

// releaseStaged publishes to streams whose LDS and RDS have waited too long for EDS, and gives back
// the send budget of responses left unanswered too long.
func (s *Server) releaseStaged() {
	now := s.opts.Clock.Now()
	for _, c := range s.connList() {
		c.mu.Lock()
		s.releaseOverdueBudget(c, now)
		due := false
		if c.staged && now.Sub(c.stagedAt) > s.opts.StageTimeout {
			s.log.Warn("proxy did not take the endpoints of new clusters in time; sending listeners and routes anyway",
				zap.String("node", c.proxy.ID), zap.Int64("stream", c.id))
			due = c.publish(now, s.opts.StageTimeout)
		}
		c.mu.Unlock()
		if due {
			c.notify()
		}
	}
}

// openConn registers a stream on its first request, which must name its node.
func (s *Server) openConn(node *corev3.Node, aggregated, delta bool) (*conn, error) {
	proxy, err := proxyFromNode(node)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDraining() {
		return nil, errDraining
	}
	s.nextID++
	c := newConn(s.nextID, proxy, aggregated, s.opts.Clock.Now())
	c.delta = delta
	s.conns[c.id] = c
	s.perNode[proxy.ID]++
	if s.perNode[proxy.ID] == 1 {
		s.opts.Metrics.proxies.Inc()
	}
	s.opts.Metrics.streamOpened(proxy.IstioVersion)
	s.log.Info("proxy connected", zap.String("node", proxy.ID), zap.Int64("stream", c.id), zap.Bool("proxyless", proxy.Proxyless),
		zap.String("namespace", proxy.Namespace), zap.Bool("aggregated", aggregated), zap.String("protocol", c.protocol()))
	return c, nil
}

// closeConn forgets a stream, and with it everything the server held for it.
func (s *Server) closeConn(c *conn) {
	c.mu.Lock()
	s.releaseAllBudget(c)
	c.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c.id)
	id := c.proxy.ID
	if s.perNode[id]--; s.perNode[id] <= 0 {
		delete(s.perNode, id)
		s.opts.Metrics.proxies.Dec()
	}
	s.opts.Metrics.streamClosed(c.proxy.IstioVersion)
	s.pushes.closed(c.id)
	s.log.Info("proxy disconnected", zap.String("node", id), zap.Int64("stream", c.id))
}
