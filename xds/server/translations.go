package server

import (
	"fmt"
	"runtime/debug"
	"slices"
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

	mu      sync.Mutex
	entries map[string]*cacheEntry
	// prev is the cache of the snapshot change was measured from; dropped (set nil) once the push
	// has moved every stream, so that two generations are not kept alive.
	prev   *translationCache
	change model.Change
}

type cacheEntry struct {
	once  sync.Once
	ready chan struct{} // closed once tr or err is set
	tr    *translation
	err   error
}

func newTranslationCache(snap *model.Snapshot, warnings *warningLog, prev *translationCache, change model.Change) *translationCache {
	c := &translationCache{snap: snap, warnings: warnings, entries: map[string]*cacheEntry{}, change: change}
	if prev != nil && change.EndpointsOnly() && prev.snap.Generation < snap.Generation {
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

// get returns the translation of the snapshot for a proxy. An error is a translator panic: the
// caller keeps the proxy's last config rather than die of one bad input.
func (c *translationCache) get(proxy *model.Proxy, listeners []string) (*translation, error) {
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
		if base := prev.done(key); base != nil {
			e.tr, e.err = c.patchEndpoints(base, proxy)
			return
		}
		e.tr, e.err = c.outbound(proxy, listeners)
	})
	if e.err != nil {
		return nil, e.err
	}
	return c.withInbound(e.tr, proxy)
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
	var res *translate.Resources
	if err := recovered(func() { res = translate.Outbound(c.snap, proxy, listeners) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		return nil, err
	}
	c.noteWarnings(res.Details)
	return &translation{sets: desiredSets(res, c.snap.ChangedAt), warnings: res.Warnings, details: res.Details, plan: res.Plan}, nil
}

// patchEndpoints derives a view's translation from its previous one, for an endpoint-only change:
// the endpoint sets of the changed services are rebuilt, everything else is shared as it was.
func (c *translationCache) patchEndpoints(base *translation, proxy *model.Proxy) (*translation, error) {
	var res *translate.Resources
	if err := recovered(func() { res = base.plan.Rebuild(c.snap, c.change.Endpoints) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		return nil, err
	}
	tr := &translation{sets: base.sets, plan: base.plan}
	tr.sets[eds] = base.sets[eds].patch(collect(res.Endpoints, func(i int) string { return res.Endpoints[i].ClusterName }, c.snap.ChangedAt))
	// The rebuilt sets' warnings replace the ones of the same sets.
	rebuilt := map[string]bool{}
	for _, cla := range res.Endpoints {
		rebuilt[cla.ClusterName] = true
	}
	for _, w := range base.details {
		if w.Resource.Type != translate.EndpointsResource || !rebuilt[w.Resource.Name] {
			tr.details = append(tr.details, w)
		}
	}
	tr.details = append(tr.details, res.Details...)
	for _, w := range tr.details {
		tr.warnings = append(tr.warnings, w.Message)
	}
	c.noteWarnings(tr.details)
	return tr, nil
}

// withInbound completes a shared outbound translation with the proxy's own inbound side, which
// depends on its IP and so is translated per proxy (it is a few resources, none for most).
func (c *translationCache) withInbound(tr *translation, proxy *model.Proxy) (*translation, error) {
	var in *translate.Resources
	if err := recovered(func() { in = translate.Inbound(c.snap, proxy) }); err != nil {
		c.warnings.panicked(c.snap.Generation, proxy.ID, err)
		return nil, err
	}
	if len(in.Clusters) == 0 && len(in.Listeners) == 0 && len(in.Warnings) == 0 {
		return tr, nil
	}
	c.noteWarnings(in.Details)
	inSets := desiredSets(in, c.snap.ChangedAt)
	out := &translation{warnings: append(slices.Clone(tr.warnings), in.Warnings...), plan: tr.plan}
	for t := range numTypes {
		out.sets[t] = tr.sets[t].merge(inSets[t])
	}
	return out, nil
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
