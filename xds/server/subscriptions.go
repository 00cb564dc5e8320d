package server

import (
	"runtime"
	"sync"
	"weak"
)

// subscriptionTable shares the subscriptions of State-of-the-World streams that name the same
// resources: the sidecars of one view each ask for the endpoints of the same thousands of clusters,
// and each held a map of its own (at 1,000 services and 500 sidecars, 125 MB of the server's
// heap). Entries are weak: a subscription no stream holds any more is collected, and its entry
// with it.
type subscriptionTable struct {
	mu sync.Mutex
	m  map[namesKey]weak.Pointer[sharedNames]
}

// sharedNames is what the streams subscribed to one list of names share. Never written to once
// made.
type sharedNames struct {
	names    map[string]bool
	wildcard bool
	listed   int // the names the list had, "*" and repeats included
}

func newSubscriptionTable() *subscriptionTable {
	return &subscriptionTable{m: map[namesKey]weak.Pointer[sharedNames]{}}
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

// forget drops the entry of a list no stream holds any more (unless a new one took its place).
func (t *subscriptionTable) forget(key namesKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[key].Value() == nil {
		delete(t.m, key)
	}
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
