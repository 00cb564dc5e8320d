package server

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/minipilot/minipilot/model"
)

// pushLogSize is how many pushes /debug/pushz remembers.
const pushLogSize = 32

// PushRecord is one push of a model snapshot, as /debug/pushz shows it: what changed, and for each
// stream open at the time (or opened while it was the latest) when each type carrying it was sent
// and acknowledged.
type PushRecord struct {
	Generation uint64    `json:"generation"`
	ChangedAt  time.Time `json:"changedAt,omitzero"` // when the change was first seen
	PushedAt   time.Time `json:"pushedAt"`
	// EndpointsOnly is true for a change to endpoints alone (the fast path); Services names the
	// services whose endpoints changed.
	EndpointsOnly bool          `json:"endpointsOnly"`
	Services      []string      `json:"services,omitempty"`
	Streams       []*StreamPush `json:"streams"`
}

// StreamPush is what one stream was sent of a push. A stream whose config the change did not touch
// has no types.
type StreamPush struct {
	Node   string               `json:"node"`
	Stream int64                `json:"stream"`
	Types  map[string]*TypePush `json:"types,omitempty"`
	// ConvergedAt is when the stream had acknowledged every type it was sent for this push.
	ConvergedAt time.Time `json:"convergedAt,omitzero"`
}

// TypePush is one type's response of a push to a stream, and its answer.
type TypePush struct {
	SentAt  time.Time `json:"sentAt"`
	AckedAt time.Time `json:"ackedAt,omitzero"`
	// Nack is the proxy's message when it refused the response.
	Nack string `json:"nack,omitempty"`
}

// pushLog keeps the last pushes. It is told of every response and answer; it never takes a conn's
// lock (its callers may hold one).
type pushLog struct {
	size    int
	metrics *Metrics

	mu      sync.Mutex
	records []*PushRecord // oldest first
	// lastSent is, by stream and type, the generation of the last response sent: an answer is for it.
	lastSent map[int64]*[numTypes]uint64
}

func newPushLog(size int, metrics *Metrics) *pushLog {
	return &pushLog{size: size, metrics: metrics, lastSent: map[int64]*[numTypes]uint64{}}
}

// begin records a push to the streams open now.
func (l *pushLog) begin(snap *model.Snapshot, change model.Change, at time.Time, conns []*conn) {
	r := &PushRecord{Generation: snap.Generation, ChangedAt: snap.ChangedAt, PushedAt: at, EndpointsOnly: change.EndpointsOnly()}
	for host := range change.Endpoints {
		r.Services = append(r.Services, host)
	}
	sort.Strings(r.Services)
	for _, c := range conns {
		r.Streams = append(r.Streams, &StreamPush{Node: c.proxy.ID, Stream: c.id})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	if len(l.records) > l.size {
		l.records = slices.Delete(l.records, 0, len(l.records)-l.size)
	}
}

// record returns the push of a generation, or nil when it is not (or no longer) kept.
func (l *pushLog) record(generation uint64) *PushRecord {
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].Generation == generation {
			return l.records[i]
		}
	}
	return nil
}

func (r *PushRecord) stream(c *conn) *StreamPush {
	for _, sp := range r.Streams {
		if sp.Stream == c.id {
			return sp
		}
	}
	sp := &StreamPush{Node: c.proxy.ID, Stream: c.id} // connected after the push began
	r.Streams = append(r.Streams, sp)
	return sp
}

// sent records a response of type t to a stream whose lock is held: it carries the stream's
// current generation.
func (l *pushLog) sent(c *conn, t int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gens := l.lastSent[c.id]
	if gens == nil {
		gens = &[numTypes]uint64{}
		l.lastSent[c.id] = gens
	}
	gens[t] = c.generation
	r := l.record(c.generation)
	if r == nil {
		return
	}
	sp := r.stream(c)
	if sp.Types == nil {
		sp.Types = map[string]*TypePush{}
	}
	sp.Types[typeShort[t]] = &TypePush{SentAt: at}
	sp.ConvergedAt = time.Time{}
}

// answered records an ACK (nack "") or a NACK of the last response of type t to a stream. When the
// stream has then acknowledged every type of its push, it has converged.
func (l *pushLog) answered(c *conn, t int, at time.Time, nack string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gens := l.lastSent[c.id]
	if gens == nil {
		return
	}
	r := l.record(gens[t])
	if r == nil {
		return
	}
	sp := r.stream(c)
	tp := sp.Types[typeShort[t]]
	if tp == nil {
		return
	}
	tp.AckedAt, tp.Nack = at, nack
	if nack != "" || !sp.ConvergedAt.IsZero() {
		return
	}
	for _, other := range sp.Types {
		if other.AckedAt.IsZero() || other.Nack != "" {
			return
		}
	}
	sp.ConvergedAt = at
	since := r.ChangedAt
	if c.connectedAt.After(since) {
		since = c.connectedAt
	}
	if !since.IsZero() {
		l.metrics.converged(at.Sub(since))
	}
}

// closed forgets a stream's last responses.
func (l *pushLog) closed(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.lastSent, id)
}

// Pushes returns copies of the pushes remembered, oldest first.
func (s *Server) Pushes() []PushRecord {
	l := s.pushes
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]PushRecord, len(l.records))
	for i, r := range l.records {
		out[i] = *r
		out[i].Streams = make([]*StreamPush, len(r.Streams))
		for j, sp := range r.Streams {
			cp := *sp
			cp.Types = make(map[string]*TypePush, len(sp.Types))
			for k, tp := range sp.Types {
				v := *tp
				cp.Types[k] = &v
			}
			out[i].Streams[j] = &cp
		}
		slices.SortStableFunc(out[i].Streams, func(a, b *StreamPush) int {
			if a.Node != b.Node {
				if a.Node < b.Node {
					return -1
				}
				return 1
			}
			return int(a.Stream - b.Stream)
		})
	}
	return out
}
