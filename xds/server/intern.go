package server

import (
	"bytes"
	"sync"
)

// interner shares equal resources between the translations of one snapshot: the views of a mesh
// (one per namespace, at the least) mostly translate a cluster or an endpoint set to the same
// bytes, and each kept its own copy (at 1,000 services and ten views, a fifth of the live heap).
// Equal means the same name and the same bytes, so sharing changes nothing a stream is sent.
type interner struct {
	mu       sync.Mutex
	byDigest map[uint64]*resource
}

func newInterner() *interner { return &interner{byDigest: map[uint64]*resource{}} }

// intern replaces each entry of the set by an equal one already held, holding the others.
func (in *interner) intern(s typeSet) typeSet {
	if in == nil {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, e := range s.entries {
		held, ok := in.byDigest[e.digest]
		switch {
		case !ok:
			in.byDigest[e.digest] = e
		case held.name == e.name && bytes.Equal(held.raw, e.raw):
			s.entries[i] = held
		}
	}
	return s
}
