package server

import (
	"cmp"
	"slices"
	"sort"
	"strings"
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
// lock (its callers may hold one). It keeps them compact (pushRecord), as 32 pushes to 2,000 streams
// are 64,000 entries, and /debug/pushz, which makes the PushRecords, is rare.
type pushLog struct {
	size    int
	metrics *Metrics

	mu      sync.Mutex
	records []*pushRecord // oldest first
	// lastSent is, by stream and type, the generation of the last response sent: an answer is for it.
	lastSent map[int64]*[numTypes]uint64
}

// pushRecord is a PushRecord as the log keeps it.
type pushRecord struct {
	generation          uint64
	changedAt, pushedAt time.Time
	endpointsOnly       bool
	services            []string
	// streams are by stream ID: those open when the push began, sorted, then those opened later,
	// whose IDs are higher.
	streams []streamEntry
	nacks   map[nackKey]string // rare
}

// streamEntry is a StreamPush as the log keeps it: times as offsets from the push, and bits for
// which of them are set.
type streamEntry struct {
	node         string
	id           int64
	sent, acked  [numTypes]time.Duration
	converged    time.Duration
	sentTypes    uint8 // bit t: sent[t] is set
	ackedTypes   uint8 // bit t: acked[t] is set (an ACK or a NACK)
	hasConverged bool
}

type nackKey struct {
	stream int64
	t      int
}

func newPushLog(size int, metrics *Metrics) *pushLog {
	return &pushLog{size: size, metrics: metrics, lastSent: map[int64]*[numTypes]uint64{}}
}

// begin records a push to the streams open now.
func (l *pushLog) begin(snap *model.Snapshot, change model.Change, at time.Time, conns []*conn) {
	r := &pushRecord{generation: snap.Generation, changedAt: snap.ChangedAt, pushedAt: at, endpointsOnly: change.EndpointsOnly(),
		streams: make([]streamEntry, 0, len(conns))}
	for host := range change.Endpoints {
		r.services = append(r.services, host)
	}
	sort.Strings(r.services)
	for _, c := range conns {
		r.streams = append(r.streams, streamEntry{node: c.proxy.ID, id: c.id})
	}
	slices.SortFunc(r.streams, func(a, b streamEntry) int { return cmp.Compare(a.id, b.id) })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	if len(l.records) > l.size {
		l.records = slices.Delete(l.records, 0, len(l.records)-l.size)
	}
}

// record returns the push of a generation, or nil when it is not (or no longer) kept.
func (l *pushLog) record(generation uint64) *pushRecord {
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].generation == generation {
			return l.records[i]
		}
	}
	return nil
}

// stream is the entry of a stream, added when it connected after the push began.
func (r *pushRecord) stream(c *conn) *streamEntry {
	i, found := slices.BinarySearchFunc(r.streams, c.id, func(e streamEntry, id int64) int { return cmp.Compare(e.id, id) })
	if !found {
		r.streams = slices.Insert(r.streams, i, streamEntry{node: c.proxy.ID, id: c.id})
	}
	return &r.streams[i]
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
	e := r.stream(c)
	e.sent[t], e.sentTypes = at.Sub(r.pushedAt), e.sentTypes|1<<t
	e.acked[t], e.ackedTypes = 0, e.ackedTypes&^(1<<t)
	delete(r.nacks, nackKey{c.id, t})
	e.converged, e.hasConverged = 0, false
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
	e := r.stream(c)
	if e.sentTypes&(1<<t) == 0 {
		return
	}
	e.acked[t], e.ackedTypes = at.Sub(r.pushedAt), e.ackedTypes|1<<t
	if nack != "" {
		if r.nacks == nil {
			r.nacks = map[nackKey]string{}
		}
		r.nacks[nackKey{c.id, t}] = nack
		return
	}
	delete(r.nacks, nackKey{c.id, t})
	if e.hasConverged || e.ackedTypes != e.sentTypes {
		return
	}
	for t := range numTypes {
		if r.nacks[nackKey{c.id, t}] != "" {
			return
		}
	}
	e.converged, e.hasConverged = at.Sub(r.pushedAt), true
	since := r.changedAt
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

// Pushes returns the pushes remembered, oldest first, each stream's by node and stream.
func (s *Server) Pushes() []PushRecord {
	l := s.pushes
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]PushRecord, len(l.records))
	for i, r := range l.records {
		out[i] = r.public()
	}
	return out
}

func (r *pushRecord) public() PushRecord {
	p := PushRecord{Generation: r.generation, ChangedAt: r.changedAt, PushedAt: r.pushedAt, EndpointsOnly: r.endpointsOnly,
		Services: slices.Clone(r.services), Streams: make([]*StreamPush, len(r.streams))}
	for i := range r.streams {
		e := &r.streams[i]
		sp := &StreamPush{Node: e.node, Stream: e.id}
		for t := range numTypes {
			if e.sentTypes&(1<<t) == 0 {
				continue
			}
			if sp.Types == nil {
				sp.Types = map[string]*TypePush{}
			}
			tp := &TypePush{SentAt: r.pushedAt.Add(e.sent[t]), Nack: r.nacks[nackKey{e.id, t}]}
			if e.ackedTypes&(1<<t) != 0 {
				tp.AckedAt = r.pushedAt.Add(e.acked[t])
			}
			sp.Types[typeShort[t]] = tp
		}
		if e.hasConverged {
			sp.ConvergedAt = r.pushedAt.Add(e.converged)
		}
		p.Streams[i] = sp
	}
	slices.SortStableFunc(p.Streams, func(a, b *StreamPush) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), cmp.Compare(a.Stream, b.Stream))
	})
	return p
}
