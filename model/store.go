package model

import (
	"sync"
	"time"
)

// Source is an adapter's view of the mesh. Part must be safe to call from any goroutine and must not
// call back into the Store.
type Source interface {
	Part() Part
}

// Registration is a source's handle on the store.
type Registration struct {
	store  *Store
	name   string
	source Source
	part   Part
	dirty  bool
	synced bool
}

// Changed tells the store that the source's Part has changed. It is cheap: the store pulls the new
// Part only when it next builds a snapshot, so a burst of events costs one rebuild.
func (r *Registration) Changed() { r.store.changed(r, false) }

// Synced tells the store that the source has seen its initial state (informer caches synced, the
// directory read once) and counts as a change. Until every source has synced, nothing is published.
func (r *Registration) Synced() { r.store.changed(r, true) }

// Store keeps the sources and builds snapshots from them on demand.
type Store struct {
	domainSuffix string
	now          func() time.Time

	mu         sync.Mutex
	sources    []*Registration
	changedAt  time.Time // when the oldest unfolded change was seen; zero when none is pending
	generation uint64
	current    *Snapshot
	signal     chan struct{}

	build sync.Mutex // one snapshot build at a time
}

// NewStore returns an empty store. now is the clock; tests pass a fake one.
func NewStore(domainSuffix string, now func() time.Time) *Store {
	s := &Store{domainSuffix: domainSuffix, now: now, signal: make(chan struct{}, 1)}
	s.current = NewSnapshot(domainSuffix, 0, now())
	return s
}

// DomainSuffix is the cluster domain ("cluster.local").
func (s *Store) DomainSuffix() string { return s.domainSuffix }

// Register adds a source. Sources merge in registration order: the first one's service definitions win.
func (s *Store) Register(name string, src Source) *Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Registration{store: s, name: name, source: src}
	s.sources = append(s.sources, r)
	return r
}

// Changes delivers a signal after changes; several changes may share one signal.
func (s *Store) Changes() <-chan struct{} { return s.signal }

func (s *Store) changed(r *Registration, synced bool) {
	s.mu.Lock()
	r.dirty = true
	if synced {
		r.synced = true
	}
	if s.changedAt.IsZero() {
		s.changedAt = s.now()
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Synced says whether every registered source has seen its initial state.
func (s *Store) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.sources {
		if !r.synced {
			return false
		}
	}
	return true
}

// Current returns the last snapshot built, without building a new one.
func (s *Store) Current() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Snapshot folds pending changes into a new snapshot and returns it; with nothing pending it returns
// the current one. Parts are pulled outside the store's lock so that a source may report changes
// while it builds one.
func (s *Store) Snapshot() *Snapshot {
	s.build.Lock()
	defer s.build.Unlock()

	s.mu.Lock()
	if s.changedAt.IsZero() {
		defer s.mu.Unlock()
		return s.current
	}
	changedAt := s.changedAt
	s.changedAt = time.Time{}
	var dirty []*Registration
	for _, r := range s.sources {
		if r.dirty {
			r.dirty = false
			dirty = append(dirty, r)
		}
	}
	s.mu.Unlock()

	fresh := make(map[*Registration]Part, len(dirty))
	for _, r := range dirty {
		fresh[r] = CheckPart(r.source.Part()) // whatever the source, nothing a proxy cannot use
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]Part, 0, len(s.sources))
	for _, r := range s.sources {
		if p, ok := fresh[r]; ok {
			r.part = p
		}
		parts = append(parts, r.part)
	}
	s.generation++
	s.current = NewSnapshot(s.domainSuffix, s.generation, changedAt, parts...)
	return s.current
}
