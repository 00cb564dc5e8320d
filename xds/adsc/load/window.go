package load

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/xds/adsc/lite"
)

// The xDS types a sidecar gets, in push order.
const (
	cds = iota
	eds
	lds
	rds
	numTypes
)

var typeURLs = [numTypes]string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}

func typeIndex(url string) (int, bool) {
	for i, u := range typeURLs {
		if u == url {
			return i, true
		}
	}
	return 0, false
}

// window is one measured stretch of a run: the fleet connecting, or one change and what follows it
// until the next. Every response received meanwhile is counted in it, and each sidecar arrives once:
// when it has its full config (connecting) or holds what the change expects.
type window struct {
	id         int
	connecting bool     // sidecars arrive with a full config, not with a change
	expect     []Expect // what a change's sidecars arrive with
	local      []*Probe // probes this change alone names

	sent  [numTypes]typeCounter
	nacks atomic.Int64
	rss   atomic.Int64 // the server's highest resident set sampled meanwhile

	mu       sync.Mutex
	start    time.Time // the change was in place (written)
	arrivals []arrival
	pending  int
	done     chan struct{}
}

type typeCounter struct{ responses, bytes atomic.Int64 }

type arrival struct {
	received, answered time.Time
	arrived, lost      bool
}

func newWindow(id, streams int, expect []Expect, persistent []*Probe) *window {
	w := &window{id: id, expect: expect, arrivals: make([]arrival, streams), pending: streams, done: make(chan struct{})}
	for _, e := range expect {
		if !slices.Contains(persistent, e.Probe) && !slices.Contains(w.local, e.Probe) {
			w.local = append(w.local, e.Probe)
		}
	}
	if streams == 0 {
		close(w.done)
	}
	return w
}

// count notes a response.
func (w *window) count(r *lite.Response) {
	if t, ok := typeIndex(r.TypeURL); ok {
		w.sent[t].responses.Add(1)
		w.sent[t].bytes.Add(int64(r.Size))
	}
	if r.NACK != nil {
		w.nacks.Add(1)
	}
}

// arrive records a sidecar's arrival, once.
func (w *window) arrive(i int, received, answered time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := &w.arrivals[i]
	if a.arrived || a.lost {
		return
	}
	a.arrived, a.received, a.answered = true, received, answered
	w.settle()
}

// lose records that a sidecar's stream ended before it arrived.
func (w *window) lose(i int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := &w.arrivals[i]
	if a.arrived || a.lost {
		return
	}
	a.lost = true
	w.settle()
}

func (w *window) settle() {
	w.pending--
	if w.pending == 0 {
		close(w.done)
	}
}

func (w *window) setStart(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start = t
}

func (w *window) noteRSS(rss int64) {
	for {
		cur := w.rss.Load()
		if rss <= cur || w.rss.CompareAndSwap(cur, rss) {
			return
		}
	}
}

// latencies are the arrivals' times from base(i), sidecar by sidecar, received and answered; an
// arrival before its base (a response the change's write raced) counts as 0.
func (w *window) latencies(base func(i int) time.Time) (received, answered []time.Duration, arrived, lost int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, a := range w.arrivals {
		switch {
		case a.arrived:
			arrived++
			received = append(received, max(0, a.received.Sub(base(i))))
			answered = append(answered, max(0, a.answered.Sub(base(i))))
		case a.lost:
			lost++
		}
	}
	return received, answered, arrived, lost
}

// lostOnes are the sidecars whose streams ended before they arrived.
func (w *window) lostOnes() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lost []int
	for i, a := range w.arrivals {
		if a.lost {
			lost = append(lost, i)
		}
	}
	return lost
}

func (w *window) typeCounts() TypeCounts {
	var out TypeCounts
	for t := range numTypes {
		*out.of(t) = TypeCount{Responses: w.sent[t].responses.Load(), Bytes: w.sent[t].bytes.Load()}
	}
	return out
}
