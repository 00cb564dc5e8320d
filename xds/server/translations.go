package server

import (
	"slices"
	"sync"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// translation is one translation, hashed into sets, ready to be filtered per node.
type translation struct {
	sets     [numTypes]typeSet
	warnings []string
}

// translationCache shares translations of one model snapshot, across a push and the proxies that
// connect before the next one: sidecars that differ in nothing the
// translator reads (same namespace, labels, interception mode...) get the same resources, so a push
// costs one translation per kind of proxy rather than one per proxy.
type translationCache struct {
	generation uint64 // the model snapshot the translations are of
	mu         sync.Mutex
	entries    map[string]*cacheEntry
}

type cacheEntry struct {
	once sync.Once
	tr   *translation
}

func newTranslationCache(generation uint64) *translationCache {
	return &translationCache{generation: generation, entries: map[string]*cacheEntry{}}
}

func (c *translationCache) get(snap *model.Snapshot, proxy *model.Proxy, listeners []string) *translation {
	key := translate.CacheKey(proxy, listeners)
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		res := translate.Outbound(snap, proxy, listeners)
		e.tr = &translation{sets: desiredSets(res, snap.ChangedAt), warnings: res.Warnings}
	})
	return withInbound(e.tr, snap, proxy)
}

// withInbound completes a shared outbound translation with the proxy's own inbound side, which
// depends on its IP and so is translated per proxy (it is a few resources).
func withInbound(tr *translation, snap *model.Snapshot, proxy *model.Proxy) *translation {
	in := translate.Inbound(snap, proxy)
	if len(in.Clusters) == 0 && len(in.Listeners) == 0 && len(in.Warnings) == 0 {
		return tr
	}
	inSets := desiredSets(in, snap.ChangedAt)
	out := &translation{warnings: append(slices.Clone(tr.warnings), in.Warnings...)}
	for t := range numTypes {
		out.sets[t] = tr.sets[t].merge(inSets[t])
	}
	return out
}
