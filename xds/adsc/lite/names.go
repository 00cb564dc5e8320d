package lite

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync"
)

// NameCache shares what clients work out from identical responses. Sidecars of one kind are sent
// the same clusters and listeners byte for byte, so the endpoint and route names those lead to are
// parsed, sorted and encoded for the request once per distinct response, not once per stream: at
// thousands of streams that is most of what a client would otherwise spend and hold.
type NameCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	sets map[cacheKey]*nameSet
}

// maxCachedSets bounds the cache; past it, it starts over (the sets in use stay with their clients).
const maxCachedSets = 1024

type cacheKey struct {
	typeURL string
	sum     uint64
}

// nameSet is a subscription: names sorted and distinct, their index, and their request encoding.
type nameSet struct {
	names   []string
	index   map[string]int
	encoded []byte
}

// NewNameCache returns an empty cache, to share between the clients of one run.
func NewNameCache() *NameCache {
	return &NameCache{seed: maphash.MakeSeed(), sets: map[cacheKey]*nameSet{}}
}

// derive returns the names the resources of a response lead to, from the cache when an identical
// response was seen before.
func (c *NameCache) derive(typeURL string, resources []Resource, names func([]string, []byte) ([]string, error)) (*nameSet, error) {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, r := range resources {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(r.Body)))
		_, _ = h.Write(n[:])
		_, _ = h.Write(r.Body)
	}
	key := cacheKey{typeURL: typeURL, sum: h.Sum64()}
	c.mu.Lock()
	set, ok := c.sets[key]
	c.mu.Unlock()
	if ok {
		return set, nil
	}
	var out []string
	for _, r := range resources {
		var err error
		if out, err = names(out, r.Body); err != nil {
			return nil, err
		}
	}
	set = newNameSet(out)
	c.mu.Lock()
	if len(c.sets) >= maxCachedSets {
		clear(c.sets)
	}
	c.sets[key] = set
	c.mu.Unlock()
	return set, nil
}

// size is how many names a set holds; a nil set holds none.
func (s *nameSet) size() int {
	if s == nil {
		return 0
	}
	return len(s.names)
}

// same says whether two sets hold the same names.
func (s *nameSet) same(o *nameSet) bool {
	if s == nil || o == nil {
		return s.size() == o.size()
	}
	return s == o || slices.Equal(s.names, o.names)
}

func newNameSet(names []string) *nameSet {
	slices.Sort(names)
	names = slices.Compact(names)
	set := &nameSet{names: names, index: make(map[string]int, len(names)), encoded: encodeNames(names)}
	for i, n := range names {
		set.index[n] = i
	}
	return set
}
