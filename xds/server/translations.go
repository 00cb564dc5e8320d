package server

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// translation is one translation, hashed into sets, ready to be filtered per stream.
type translation struct {
	sets     [numTypes]typeSet
	warnings []string
	details  []translate.Warning
	plan     *translate.EndpointPlan
	// A sidecar's translation is made of two halves (translate.SidecarClusters and
	// SidecarListeners), kept apart so that a change reaching one half keeps the other; these are
	// their warnings. routeHalf says the translation is so made.
	clusterDetails, listenerDetails []translate.Warning
	routeHalf                       bool
	// routes are a sidecar view's virtual hosts as encoded, for the next change to VirtualServices
	// alone to keep those it leaves as they were.
	routes *translate.KeptRoutes
}

// translationCache shares the translations of one model snapshot, across a push and the proxies
// that connect before the next one. Proxies of one view (translate.ViewKey: same namespace, the same
// rules reading their labels, ...) share one outbound translation, so a push costs one translation
// per view rather than one per proxy. When the snapshot differs from the previous one only in
// endpoints, a view's translation is the previous one with the endpoint sets of the changed
// services rebuilt: no cluster, listener or route is translated or marshalled again.
type translationCache struct {
	snap     *model.Snapshot
	warnings *warningLog
	metrics  *Metrics

	mu       sync.Mutex
	entries  map[string]*cacheEntry
	combined map[combinedKey]*translation
	// prev is the cache of the snapshot change was measured from; dropped (set nil) once the push
	// has moved every stream, so that two generations are not kept alive.
	prev   *translationCache
	change model.Change
	// translating bounds the views translated at once (nil: no bound). When hundreds of sidecars
	// connect together, the first of each view would start its translation at the same moment,
	// and every view's clusters and endpoint sets were alive at once as protos; no faster on two
	// cores, and the peak of memory.
	translating chan struct{}
	// shared holds one copy of each resource the views translate alike.
	shared *interner
}

type cacheEntry struct {
	once  sync.Once
	ready chan struct{} // closed once tr or err is set
	tr    *translation
	err   error
}

func newTranslationCache(snap *model.Snapshot, warnings *warningLog, metrics *Metrics, prev *translationCache, change model.Change) *translationCache {
	c := &translationCache{snap: snap, warnings: warnings, metrics: metrics, entries: map[string]*cacheEntry{}, combined: map[combinedKey]*translation{}, change: change,
		shared: newInterner()}
	// A view's earlier translation is found by its key, which names selectors by position: with other
	// selectors, the same key may be other proxies.
	if prev != nil && (change.EndpointsOnly() || change.RoutingOnly) && prev.snap.Generation < snap.Generation && snap.SameSelectors(prev.snap) {
		c.prev = prev
	}
	return c
}

func (c *translationCache) generation() uint64 { return c.snap.Generation }

// release drops the link to the previous generation.
func (c *translationCache) release() {
	c.mu.Lock()
	c.prev = nil
	c.mu.Unlock()
}

// get returns the translation of the snapshot for a proxy: its view's outbound side with its own
// inbound side. prevInbound is the proxy's inbound side from the snapshot before, reused when this
// change cannot have changed it. An error is a translator panic: the caller keeps the proxy's last
// config rather than die of one bad input.
func (c *translationCache) get(proxy *model.Proxy, listeners []string, prevInbound *inboundSide) (*translation, *inboundSide, error) {
	out, err := c.outboundFor(proxy, listeners)
	if err != nil {
		return nil, nil, err
	}
	var in *inboundSide
	if c.inboundUnchanged(proxy, prevInbound) {
		// Still true of this snapshot: say so, or the next change would find it a generation
		// behind and translate it again.
		held := *prevInbound
		held.generation = c.snap.Generation
		in = &held
	} else if in, err = c.inbound(proxy); err != nil {
		return nil, nil, err
	}
	return c.combine(out, in), in, nil
}

// outboundFor returns the translation of the proxy's view, made once per view.
func (c *translationCache) outboundFor(proxy *model.Proxy, listeners []string) (*translation, error) {
	key := translate.ViewKey(c.snap, proxy, listeners)
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{ready: make(chan struct{})}
		c.entries[key] = e
	}
	prev := c.prev
	c.mu.Unlock()
	e.once.Do(func() {
		defer close(e.ready)
		base := prev.done(key) // waited for before taking a turn: that translation may need one
		if c.translating != nil {
			c.translating <- struct{}{}
			defer func() { <-c.translating }()
		}
		if base != nil && c.change.EndpointsOnly() {
			c.metrics.translated.WithLabelValues("endpoints").Inc()
			e.tr, e.err = c.patchEndpoints(base, proxy)
			return
		}
		if base != nil && c.change.RoutingOnly && base.routeHalf {
			c.metrics.translated.WithLabelValues("routes").Inc()
			if len(c.change.Endpoints) > 0 {
				if base, e.err = c.patchEndpoints(base, proxy); e.err != nil {
					return
				}
			}
			e.tr, e.err = c.patchListeners(base, proxy)
			return
		}
		c.metrics.translated.WithLabelValues("full").Inc()
		e.tr, e.err = c.outbound(proxy, listeners)
	})
	return e.tr, e.err
}

// done returns the translation of a view if this cache has made it; nil otherwise.
func (c *translationCache) done(key string) *translation {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	<-e.ready // an entry exists only while its translation runs or once it is done
	if e.err != nil {
		return nil
	}
	return e.tr
}

func (c *translationCache) outbound(proxy *model.Proxy, listeners []string) (*translation, error) {
	if sidecarHalves(proxy) {
		var clusters, lr *translate.Resources
		var clusterSets [numTypes]typeSet
		var kept *translate.KeptRoutes
		if err := recovered(func() {
			// A half at a time, marshalled before the next is translated: a view's clusters and
			// endpoint sets are not alive as protos beside its listeners and routes.
			clusters = translate.SidecarClusters(c.snap, proxy)
			clusterSets = desiredSets(clusters, c.snap.ChangedAt, c.shared)
			clusters = &translate.Resources{Details: clusters.Details, Warnings: clusters.Warnings, Plan: clusters.Plan}
			lr, kept = translate.SidecarListenersKeeping(c.snap, proxy, nil)
		}); err != nil {
			c.warnings.panicked(c.snap.Generation, proxy.ID, err)
			return nil, err
		}
		c.metrics.virtualHosts(kept)
		tr := c.halves(clusters.Merge(lr), clusters.Details, lr.Details)
		tr.sets[cds], tr.sets[eds], tr.routes = clusterSets[cds], clusterSets[eds], kept
		return tr, nil
	}
	var res *translate.Resources
	if err := recovered(func() { res = translate.Outbound(c.snap, proxy, listeners) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		c.metrics.translationFailed()
		return nil, err
	}
	c.noteWarnings(res.Details)
	return &translation{sets: desiredSets(res, c.snap.ChangedAt, c.shared), warnings: res.Warnings, details: res.Details, plan: res.Plan,
		clusterDetails: res.Details}, nil
}

// sidecarHalves says whether a proxy's outbound translation is a sidecar's two halves.
func sidecarHalves(proxy *model.Proxy) bool { return !proxy.Proxyless && proxy.Type == model.Sidecar }

// halves makes a sidecar's translation from its merged halves (the sets of those it holds).
func (c *translationCache) halves(merged *translate.Resources, clusterDetails, listenerDetails []translate.Warning) *translation {
	c.noteWarnings(merged.Details)
	return &translation{sets: desiredSets(merged, c.snap.ChangedAt, c.shared), warnings: merged.Warnings, details: merged.Details,
		plan: merged.Plan, clusterDetails: clusterDetails, listenerDetails: listenerDetails, routeHalf: true}
}

// patchListeners derives a sidecar view's translation from its previous one, for a change to
// VirtualServices alone: the listeners are translated again, and the virtual hosts whose
// VirtualServices changed; the clusters and endpoint sets, which read no VirtualService, are shared
// as they were.
func (c *translationCache) patchListeners(base *translation, proxy *model.Proxy) (*translation, error) {
	var lr *translate.Resources
	var kept *translate.KeptRoutes
	if err := recovered(func() { lr, kept = translate.SidecarListenersKeeping(c.snap, proxy, base.routes) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		return nil, err
	}
	c.metrics.virtualHosts(kept)
	merged := (&translate.Resources{Details: base.clusterDetails}).Merge(lr)
	c.noteWarnings(merged.Details)
	fresh := desiredSets(lr, c.snap.ChangedAt, c.shared)
	tr := &translation{sets: base.sets, warnings: merged.Warnings, details: merged.Details, plan: base.plan,
		clusterDetails: base.clusterDetails, listenerDetails: lr.Details, routeHalf: true, routes: kept}
	tr.sets[lds], tr.sets[rds] = fresh[lds], fresh[rds]
	return tr, nil
}

// patchEndpoints derives a view's translation from its previous one, for an endpoint-only change:
// the endpoint sets of the changed services are rebuilt, everything else is shared as it was.
func (c *translationCache) patchEndpoints(base *translation, proxy *model.Proxy) (*translation, error) {
	var res *translate.Resources
	if err := recovered(func() { res = base.plan.Rebuild(c.snap, c.change.Endpoints) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		c.metrics.translationFailed()
		return nil, err
	}
	tr := &translation{sets: base.sets, plan: base.plan, listenerDetails: base.listenerDetails, routeHalf: base.routeHalf, routes: base.routes}
	tr.sets[eds] = base.sets[eds].patch(c.shared.intern(collect(res.Endpoints, func(i int) string { return res.Endpoints[i].ClusterName }, c.snap.ChangedAt)))
	// The rebuilt sets' warnings replace the ones of the same sets.
	rebuilt := map[string]bool{}
	for _, cla := range res.Endpoints {
		rebuilt[cla.ClusterName] = true
	}
	for _, w := range base.clusterDetails {
		if w.Resource.Type != translate.EndpointsResource || !rebuilt[w.Resource.Name] {
			tr.clusterDetails = append(tr.clusterDetails, w)
		}
	}
	tr.clusterDetails = append(tr.clusterDetails, res.Details...)
	merged := (&translate.Resources{Details: tr.clusterDetails}).Merge(&translate.Resources{Details: tr.listenerDetails})
	tr.details, tr.warnings = merged.Details, merged.Warnings
	c.noteWarnings(tr.details)
	return tr, nil
}

// inboundSide is a sidecar's own inbound resources: they depend on its IP (the endpoints there),
// so they are translated per proxy; a few resources, the same for most proxies.
type inboundSide struct {
	generation uint64 // the snapshot they were translated from
	sets       [numTypes]typeSet
	warnings   []string
	key        string // the sets' versions: equal keys, equal content
}

func (in *inboundSide) empty() bool { return in == nil || in.key == "" }

// inboundUnchanged says whether a proxy's inbound side from the previous snapshot still holds: the
// change touched only endpoints, and none at the proxy's address.
func (c *translationCache) inboundUnchanged(proxy *model.Proxy, prev *inboundSide) bool {
	c.mu.Lock()
	base := c.prev
	c.mu.Unlock()
	return prev != nil && base != nil && prev.generation == base.snap.Generation && !c.change.Addresses[proxy.IPAddress]
}

func (c *translationCache) inbound(proxy *model.Proxy) (*inboundSide, error) {
	c.metrics.inboundTranslated.Inc()
	var res *translate.Resources
	if err := recovered(func() { res = translate.Inbound(c.snap, proxy) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		c.metrics.translationFailed()
		return nil, err
	}
	in := &inboundSide{generation: c.snap.Generation, warnings: res.Warnings}
	if len(res.Clusters) == 0 && len(res.Listeners) == 0 && len(res.Warnings) == 0 {
		return in, nil
	}
	c.noteWarnings(res.Details)
	in.sets = desiredSets(res, c.snap.ChangedAt, c.shared)
	for t := range numTypes {
		in.key += in.sets[t].version + "|"
	}
	in.key += strings.Join(res.Warnings, "\n")
	return in, nil
}

// combine completes a view's outbound translation with a proxy's inbound side. Combinations are
// interned: the replicas of a workload, whose inbound sides are equal, share one, so no stream holds
// a copy of its view's sets of its own.
func (c *translationCache) combine(out *translation, in *inboundSide) *translation {
	if in.empty() {
		return out
	}
	key := combinedKey{out: out, inbound: in.key}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tr, ok := c.combined[key]; ok {
		return tr
	}
	tr := &translation{warnings: append(slices.Clone(out.warnings), in.warnings...), plan: out.plan}
	for t := range numTypes {
		tr.sets[t] = out.sets[t].merge(in.sets[t])
	}
	c.combined[key] = tr
	return tr
}

type combinedKey struct {
	out     *translation
	inbound string
}

func (c *translationCache) noteWarnings(details []translate.Warning) {
	if len(details) > 0 {
		c.warnings.note(c.snap.Generation, details)
	}
}

// recovered runs f and turns a panic into an error carrying the stack.
func recovered(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("translator panic: %v\n%s", r, debug.Stack())
		}
	}()
	f()
	return nil
}
