package server

import (
	"math/bits"

	"google.golang.org/grpc/mem"
)

// boundedPool is the pool gRPC reads frames into and responses are gathered in: a free list for
// every power of two from 256 B to 4 MiB (gRPC's default pool has five sizes: a 300-byte ACK took
// a 4 KiB buffer), each holding at most tierBytes. A sync.Pool, which gRPC's pools are built on,
// keeps every buffer given back since the garbage collector last ran, and for one cycle more:
// after 500 sidecars each sent a 100 KB ACK at once, 13 MB of 16 KB frames stayed in it, and what
// a pool holds is live heap, which the collector lets the heap grow to twice of. A bounded list
// keeps what steady traffic reuses and lets a burst's excess be collected.
type boundedPool struct {
	tiers [maxTier - minTier + 1]chan *[]byte
}

const (
	minTier   = 8  // 256 B: smaller requests take a 256-byte buffer
	maxTier   = 22 // 4 MiB: larger buffers are allocated and collected
	tierBytes = 2 << 20
)

func newBufferPool() mem.BufferPool {
	p := &boundedPool{}
	for i := range p.tiers {
		p.tiers[i] = make(chan *[]byte, max(2, tierBytes>>(minTier+i)))
	}
	return p
}

// tier is the index of the smallest tier holding n bytes; false when n is above the largest.
func tier(n int) (int, bool) {
	e := max(minTier, bits.Len(uint(max(n, 1)-1)))
	return e - minTier, e <= maxTier
}

// Get returns a buffer of length bytes. Its bytes are not cleared: gRPC and gather write every
// byte they read back.
func (p *boundedPool) Get(length int) *[]byte {
	i, ok := tier(length)
	if !ok {
		b := make([]byte, length)
		return &b
	}
	select {
	case b := <-p.tiers[i]:
		*b = (*b)[:length]
		return b
	default:
		b := make([]byte, length, 1<<(minTier+i))
		return &b
	}
}

// Put keeps a buffer for reuse if its tier has room; others are left to the collector.
func (p *boundedPool) Put(b *[]byte) {
	c := cap(*b)
	i, ok := tier(c)
	if !ok || c != 1<<(minTier+i) {
		return // not one of ours
	}
	select {
	case p.tiers[i] <- b:
	default:
	}
}
