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
}

// translationCache shares translations of one model snapshot, across a push and the proxies that
// connect before the next one: sidecars that differ in nothing the translator reads (same
// namespace, labels, interception mode...) get the same resources, so a push costs one translation
// per kind of proxy rather than one per proxy.
type translationCache struct {
	generation uint64 // the model snapshot the translations are of
	warnings   *warningLog
	mu         sync.Mutex
	entries    map[string]*cacheEntry
}

type cacheEntry struct {
	once sync.Once
	tr   *translation
	err  error
}

func newTranslationCache(generation uint64, warnings *warningLog) *translationCache {
	return &translationCache{generation: generation, warnings: warnings, entries: map[string]*cacheEntry{}}
}

// get returns the translation of the snapshot for a proxy. An error is a translator panic: the
// caller keeps the proxy's last config rather than die of one bad input.
func (c *translationCache) get(snap *model.Snapshot, proxy *model.Proxy, listeners []string) (*translation, error) {
	key := translate.ViewKey(snap, proxy, listeners)
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		var res *translate.Resources
		if e.err = recovered(func() { res = translate.Outbound(snap, proxy, listeners) }); e.err != nil {
			c.warnings.panicked(snap.Generation, proxy.ID, e.err)
			return
		}
		c.noteWarnings(res)
		e.tr = &translation{sets: desiredSets(res, snap.ChangedAt), warnings: res.Warnings}
	})
	if e.err != nil {
		return nil, e.err
	}
	return c.withInbound(e.tr, snap, proxy)
}

// withInbound completes a shared outbound translation with the proxy's own inbound side, which
// depends on its IP and so is translated per proxy (it is a few resources).
func (c *translationCache) withInbound(tr *translation, snap *model.Snapshot, proxy *model.Proxy) (*translation, error) {
	var in *translate.Resources
	if err := recovered(func() { in = translate.Inbound(snap, proxy) }); err != nil {
		c.warnings.panicked(snap.Generation, proxy.ID, err)
		return nil, err
	}
	if len(in.Clusters) == 0 && len(in.Listeners) == 0 && len(in.Warnings) == 0 {
		return tr, nil
	}
	c.noteWarnings(in)
	inSets := desiredSets(in, snap.ChangedAt)
	out := &translation{warnings: append(slices.Clone(tr.warnings), in.Warnings...)}
	for t := range numTypes {
		out.sets[t] = tr.sets[t].merge(inSets[t])
	}
	return out, nil
}

func (c *translationCache) noteWarnings(res *translate.Resources) {
	if len(res.Details) > 0 {
		c.warnings.note(c.generation, res.Details)
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
