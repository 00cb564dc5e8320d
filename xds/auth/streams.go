package auth

import (
	"sort"
	"sync"
	"time"
)

// Stream is an authenticated stream the guard let through, as /debug/authz shows it.
type Stream struct {
	Node     string    `json:"node"`
	Identity string    `json:"identity"`
	Via      string    `json:"via"` // token or certificate
	Peer     string    `json:"peer"`
	Since    time.Time `json:"since"`
}

// streamSet is the streams open now.
type streamSet struct {
	mu     sync.Mutex
	next   int64
	byID   map[int64]Stream
	nowFor func() time.Time
}

func (s *streamSet) add(st Stream) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[int64]Stream{}
	}
	s.next++
	st.Since = s.nowFor()
	s.byID[s.next] = st
	return s.next
}

func (s *streamSet) remove(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// Streams are the authenticated streams open now, by node ID and then age.
func (g *Guard) Streams() []Stream {
	g.streams.mu.Lock()
	out := make([]Stream, 0, len(g.streams.byID))
	for _, st := range g.streams.byID {
		out = append(out, st)
	}
	g.streams.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Since.Before(out[j].Since)
	})
	return out
}
