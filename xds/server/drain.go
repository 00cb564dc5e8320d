package server

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Drain begins shutdown: readiness goes off, new streams are refused, and the open ones keep being
// served but are closed one at a time, spread evenly over grace, so that the proxies reconnect to
// the other replicas gradually rather than all at the same moment. It returns once every stream it
// found open has been closed, or when ctx ends.
func (s *Server) Drain(ctx context.Context, grace time.Duration) {
	s.drainOnce.Do(func() { close(s.draining) })
	conns := s.connList() // oldest first: they have had their share of this replica
	s.log.Info("draining xDS streams", zap.Int("streams", len(conns)), zap.Duration("grace", grace))
	if len(conns) == 0 {
		return
	}
	// Stream i of n closes at (i+1)/(n+1) of the grace: the last one still well inside it.
	step := grace / time.Duration(len(conns)+1)
	timer := s.opts.Clock.NewTimer(step)
	defer timer.Stop()
	for _, c := range conns {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		c.close()
		timer.Reset(step)
	}
}

func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}
