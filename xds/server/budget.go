package server

import "time"

// The send budget bounds the memory of responses sent and not yet taken by their clients. A
// response's resources are shared bytes (codec.go), but each response still holds its own copy of
// the small ones, gathered into chunks, and a list of the large ones (gather.go) until gRPC has
// written it out, which Send returning does not mean: 500 sidecars connecting to a mesh of 1,000
// services hold 1.5 MB each of CDS and EDS chunks, and 2,000 Envoys connecting at once to a mesh of
// 10,000 resources would hold gigabytes.
// A response counts against the budget from before it is sent until its client answers it (an ACK
// or a NACK: it has read it all), its stream ends, or budgetHold passes (a client that never
// answers must not starve the others). Streams wait their turn rather than being refused.

// defaultSendBudget is the budget unless Options.SendBudget says otherwise.
const defaultSendBudget = 64 << 20

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
func (s *Server) sendWithin(c *conn, t int, size, memory int64, resources int, send func() error) error {
	weight := min(memory, s.opts.SendBudget)
	if err := s.sending.Acquire(c.ctx, weight); err != nil {
		return err
	}
	start := s.opts.Clock.Now()
	if err := send(); err != nil {
		s.sending.Release(weight)
		s.opts.Metrics.sendFailed(t)
		return err
	}
	c.mu.Lock()
	s.releaseBudget(c, t)
	c.budget[t] = heldBudget{weight: weight, since: s.opts.Clock.Now()}
	c.mu.Unlock()
	s.opts.Metrics.sent(t, size, resources, s.opts.Clock.Since(start))
	return nil
}

// outgoing is a response the codec writes (codec.go): SotW or Delta.
type outgoing interface {
	*sotwResponse | *deltaResponse
	carries() (typeURL string, entries []*resource)
	memory() int64 // what it holds while it waits to be written
}

// sendAll sends responses in order, each within the budget.
func sendAll[R outgoing](s *Server, c *conn, resps []R, send func(any) error) error {
	for _, resp := range resps {
		url, entries := resp.carries()
		if err := s.sendWithin(c, typeOf(url), size(entries), resp.memory(), len(entries), func() error { return send(resp) }); err != nil {
			return err
		}
	}
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
