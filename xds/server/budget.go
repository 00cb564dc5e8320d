package server

import (
	"fmt"
	"math/bits"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// The send budget bounds the response bytes the server holds for clients that have not taken them
// yet. gRPC marshals each response into a buffer of its own and keeps it until HTTP/2 flow control
// lets it out, so Send returning says nothing about memory: 2,000 Envoys connecting at once, each
// sent a megabyte of clusters, would hold gigabytes. A response's bytes count against the budget
// from before it is marshalled until its client answers it (an ACK or a NACK: it has read it all),
// its stream ends, or budgetHold passes (a client that never answers must not starve the others).
// Streams wait their turn rather than being refused.

// SendBufferPool is the buffer pool for the gRPC server (experimental.BufferPool): buffers in every
// power of two from 256 bytes to 4 MiB. gRPC's default pool jumps from 32 KiB to 1 MiB, so each
// 75 KiB endpoints response held a 1 MiB buffer until it was written: 500 sidecars connecting held
// hundreds of megabytes of it. Here a response holds at most twice its size, as the budget counts.
func SendBufferPool() mem.BufferPool {
	pool, err := mem.NewBinaryTieredBufferPool(8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22)
	if err != nil {
		panic(fmt.Sprintf("send buffer pool: %v", err)) // the exponents are constants
	}
	return pool
}

// ServerOptions are the gRPC server options the budget's accounting assumes.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{experimental.BufferPool(SendBufferPool())}
}

// bufferBytes is what gRPC holds for a response of size bytes with SendBufferPool: the next power
// of two.
func bufferBytes(size int64) int64 {
	if size <= 256 {
		return 256
	}
	return 1 << bits.Len64(uint64(size-1))
}

// defaultSendBudget is the budget unless Options.SendBudget says otherwise.
const defaultSendBudget = 32 << 20

// budgetHold is how long an unanswered response may hold its share of the budget.
const budgetHold = 10 * time.Second

// heldBudget is the share of the budget one unanswered response holds.
type heldBudget struct {
	weight int64
	since  time.Time
}

// sendWithin runs send within the budget, counts what it sent, and leaves the response's share held
// until its client answers. Only the stream's own goroutine sends and handles its requests, so the
// answer cannot come before the share is recorded.
func (s *Server) sendWithin(c *conn, t int, size int64, resources int, send func() error) error {
	weight := min(bufferBytes(size), s.opts.SendBudget)
	if err := s.sending.Acquire(c.ctx, weight); err != nil {
		return err
	}
	if err := send(); err != nil {
		s.sending.Release(weight)
		return err
	}
	c.mu.Lock()
	s.releaseBudget(c, t)
	c.budget[t] = heldBudget{weight: weight, since: s.opts.Clock.Now()}
	c.mu.Unlock()
	s.opts.Metrics.pushes.WithLabelValues(typeShort[t]).Inc()
	s.opts.Metrics.sentBytes.WithLabelValues(typeShort[t]).Add(float64(size))
	s.opts.Metrics.sentResources.WithLabelValues(typeShort[t]).Add(float64(resources))
	return nil
}

// releaseBudget gives back the share a type's last response holds. The conn's lock is held.
func (s *Server) releaseBudget(c *conn, t int) {
	if w := c.budget[t].weight; w > 0 {
		s.sending.Release(w)
	}
	c.budget[t] = heldBudget{}
}

// releaseAllBudget gives back every share a conn holds: its stream ended. The conn's lock is held.
func (s *Server) releaseAllBudget(c *conn) {
	for t := range numTypes {
		s.releaseBudget(c, t)
	}
}

// releaseOverdueBudget gives back the shares held longer than budgetHold. The conn's lock is held.
func (s *Server) releaseOverdueBudget(c *conn, now time.Time) {
	for t := range numTypes {
		if c.budget[t].weight > 0 && now.Sub(c.budget[t].since) > budgetHold {
			s.releaseBudget(c, t)
		}
	}
}
