package server

import "google.golang.org/grpc/mem"

// gather lays out a response's pieces for gRPC's writer. It sends a message at most 16 KB per
// HTTP/2 frame, listing the frame's pieces in a list it keeps for the next frame only while 64 long:
// a response of thousands of small resources, two pieces each (the prefix, the value), cost it a new
// list per frame, a large share of what the server allocated while 500 sidecars connected. So pieces
// shorter than copyBelow are copied together into chunks from the pool (gRPC gives them back once
// written); longer ones, route configs of up to megabytes, go out where they lie.
type gather struct {
	pool  mem.BufferPool
	out   mem.BufferSlice
	chunk *[]byte
	used  int
	left  int // bytes still to add: a small response takes a chunk its size, not a frame's
}

const (
	copyBelow = 1 << 10
	chunkSize = 16 << 10 // a frame
)

// held is what gathering a piece of n bytes holds until the message is written: its copy, or its
// place in the list of pieces.
func held(n int) int64 {
	if n < copyBelow {
		return int64(n)
	}
	return pieceListed
}

// pieceListed is a piece's place in a mem.BufferSlice: an interface and the slice it boxes.
const pieceListed = 16 + 24

// newGather gathers a message of size bytes in pieces.
func newGather(pool mem.BufferPool, pieces, size int) *gather {
	return &gather{pool: pool, out: make(mem.BufferSlice, 0, min(pieces, 64)), left: size}
}

func (g *gather) add(b []byte) {
	g.left -= len(b)
	if len(b) >= copyBelow {
		g.flush()
		g.out = append(g.out, mem.SliceBuffer(b))
		return
	}
	for len(b) > 0 {
		if g.chunk == nil {
			g.chunk, g.used = g.pool.Get(min(chunkSize, len(b)+g.left)), 0
		}
		n := copy((*g.chunk)[g.used:], b)
		g.used, b = g.used+n, b[n:]
		if g.used == len(*g.chunk) {
			g.flush()
		}
	}
}

func (g *gather) flush() {
	if g.chunk == nil {
		return
	}
	*g.chunk = (*g.chunk)[:g.used]
	g.out = append(g.out, mem.NewBuffer(g.chunk, g.pool))
	g.chunk = nil
}

// done is the message's buffers.
func (g *gather) done() mem.BufferSlice {
	g.flush()
	return g.out
}
