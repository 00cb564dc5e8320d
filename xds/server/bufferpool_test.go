package server

import "testing"

// The pool hands out buffers of the length asked, in a power-of-two capacity, and keeps at most
// tierBytes of each size for reuse: a burst's excess is left to the collector, not held as live heap.
func TestBufferPoolKeepsABoundedShare(t *testing.T) {
	pool := newBufferPool()
	const frame = 16 << 10
	burst := make([]*[]byte, 1000)
	for i := range burst {
		burst[i] = pool.Get(frame - 9)
		if b := *burst[i]; len(b) != frame-9 || cap(b) != frame {
			t.Fatalf("Get(%d) gave len %d cap %d, want the length asked in a %d-byte buffer", frame-9, len(b), cap(b), frame)
		}
	}
	given := map[*[]byte]bool{}
	for _, b := range burst {
		given[b] = true
		pool.Put(b)
	}
	reused := 0
	for range burst {
		if given[pool.Get(frame)] {
			reused++
		}
	}
	if want := tierBytes / frame; reused != want {
		t.Errorf("%d of a burst of %d frames were kept for reuse, want %d (tierBytes)", reused, len(burst), want)
	}

	foreign := make([]byte, 3000) // not a power of two: not the pool's
	pool.Put(&foreign)
	if b := pool.Get(3000); &(*b)[0] == &foreign[0] {
		t.Error("a buffer the pool did not make was handed out again")
	}
	if b := pool.Get(5 << 20); len(*b) != 5<<20 {
		t.Errorf("Get above the largest size gave %d bytes", len(*b))
	}
	if b := pool.Get(0); len(*b) != 0 || cap(*b) != 1<<minTier {
		t.Errorf("Get(0) gave len %d cap %d", len(*b), cap(*b))
	}
}
