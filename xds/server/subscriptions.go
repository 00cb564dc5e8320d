package server

import (
	"hash/maphash"
	"runtime"
	"sync"
	"weak"
)

// subscriptionTable shares the subscriptions of streams that name the same resources (State of the
// World: the same list; Delta: the same set, however it was subscribed to). The sidecars of one
// view each ask for the endpoints of the same thousands of clusters, and each held a map of its
// own: at 1,000 services and 500 sidecars, 125 MB of the server's heap. Entries are weak: a
// subscription no stream holds any more is collected, and its entry with it.
type subscriptionTable struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[namesKey]weak.Pointer[sharedNames] // by the list a SotW request names
	sets map[namesKey]weak.Pointer[sharedNames] // by the set a Delta stream subscribed to, name by name
}

// sharedNames is what the streams subscribed to one list of names share. Never written to once
// made.
type sharedNames struct {
	names    map[string]bool
	wildcard bool
	listed   int // the names the list had, "*" and repeats included
}

func newSubscriptionTable(seed maphash.Seed) *subscriptionTable {
	return &subscriptionTable{seed: seed, m: map[namesKey]weak.Pointer[sharedNames]{}, sets: map[namesKey]weak.Pointer[sharedNames]{}}
}

// subscription returns the subscription a request names, shared with every stream that named the
// same list.
func (t *subscriptionTable) subscription(req *request) (subscription, error) {
	t.mu.Lock()
	shared := t.m[req.key].Value()
	t.mu.Unlock()
	if shared == nil || !shared.listedIn(req) {
		names, err := req.resourceNames()
		if err != nil {
			return subscription{}, err
		}
		sub := newSubscription(names)
		shared = &sharedNames{names: sub.names, wildcard: sub.wildcard, listed: len(names)}
		t.mu.Lock()
		t.m[req.key] = weak.Make(shared)
		t.mu.Unlock()
		runtime.AddCleanup(shared, t.forget, req.key)
	}
	return subscription{requested: true, wildcard: shared.wildcard, names: shared.names, shared: shared}, nil
}

// share returns a subscription equal to sub that streams share: a Delta stream's, made name by
// name, is the same as other streams' of its view once they have all subscribed.
func (t *subscriptionTable) share(sub subscription) subscription {
	if !sub.requested || len(sub.names) == 0 {
		return sub
	}
	key := namesKey{n: len(sub.names)}
	for name := range sub.names {
		key.hash += maphash.String(t.seed, name) // a sum: the same set in any order
	}
	if sub.wildcard {
		key.hash = ^key.hash
	}
	t.mu.Lock()
	shared := t.sets[key].Value()
	t.mu.Unlock()
	if shared == nil || !shared.sameSet(sub) {
		shared = &sharedNames{names: sub.names, wildcard: sub.wildcard, listed: len(sub.names)}
		t.mu.Lock()
		t.sets[key] = weak.Make(shared)
		t.mu.Unlock()
		runtime.AddCleanup(shared, t.forgetSet, key)
	}
	return subscription{requested: true, wildcard: shared.wildcard, names: shared.names, shared: shared}
}

// forget drops the entry of a list no stream holds any more (unless a new one took its place).
func (t *subscriptionTable) forget(key namesKey) { t.drop(t.m, key) }

func (t *subscriptionTable) forgetSet(key namesKey) { t.drop(t.sets, key) }

func (t *subscriptionTable) drop(m map[namesKey]weak.Pointer[sharedNames], key namesKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m[key].Value() == nil {
		delete(m, key)
	}
}

// sameSet says whether a subscription names exactly these names.
func (s *sharedNames) sameSet(sub subscription) bool {
	if s.wildcard != sub.wildcard || len(s.names) != len(sub.names) {
		return false
	}
	for name := range sub.names {
		if !s.names[name] {
			return false
		}
	}
	return true
}

// listedIn says whether a request names exactly this list's names (the key matched: this guards
// against the hashes of two lists meeting).
func (s *sharedNames) listedIn(req *request) bool {
	if req.key.n != s.listed {
		return false
	}
	same := true
	req.eachName(func(name []byte) {
		same = same && (s.names[string(name)] || s.wildcard && string(name) == "*")
	})
	return same
}
