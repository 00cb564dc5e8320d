package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/minipilot/minipilot/model"
)

// conn is one xDS stream and everything the server knows of it. State is per stream, not per node
// ID: two streams that claim one ID (two gRPC processes sharing a bootstrap, or a client squatting
// on another's ID with other metadata) each get their own proxy, versions, ACKs and NACKs, and one
// can never change what the other is sent.
type conn struct {
	id          int64
	proxy       *model.Proxy // from the stream's first request; never changed after
	connectedAt time.Time
	// aggregated is true for ADS; a per-type stream (CDS only, say) cannot be ordered against the
	// others, so it gets no make-before-break staging.
	aggregated bool
	// delta is true for an incremental (Delta) stream: requests and responses carry changes, and
	// the subscriptions change by names added and removed.
	delta bool

	// wake is signalled (never blocking, capacity 1) when the conn has something new to send; a conn
	// already woken is not woken twice, so a slow client coalesces to the latest state.
	wake chan struct{}
	// stop closes to end the stream (pilot is draining).
	stop     chan struct{}
	stopOnce sync.Once
	// ctx is the stream's; set before the first response.
	ctx context.Context

	mu sync.Mutex
	// subs is what the stream asked for, by type; subNames identifies the names of its last SotW
	// request (namesKey), and subGen counts its changes (subscribe).
	subs     [numTypes]subscription
	subNames [numTypes]namesKey
	subGen   [numTypes]uint64
	// filtered is, by type, the desired set filtered to the subscription, as of subGen and the
	// desired set's version: most pushes change one type, and most requests no subscription.
	filtered [numTypes]filteredSet
	// generation is the model snapshot desired was translated from; 0 before the first translation.
	generation uint64
	desired    [numTypes]typeSet // the full translation, before filtering
	warnings   []string
	inbound    *inboundSide      // the proxy's own inbound side, reused while its address's endpoints stay
	published  [numTypes]typeSet // what the stream is to be sent; a zero set (version "") is "nothing yet"
	recent     [numTypes][]typeSet

	sent     [numTypes]exchange // the last response of each type
	inflight [numTypes]bool     // a response waits for its ACK or NACK: the next one waits for it
	holds    [numTypes]string   // the version the client runs or is being sent: what a push compares with
	holdsSet [numTypes]typeSet  // that set: an EDS or RDS response carries only what differs from it
	acked    [numTypes]exchange
	nack     [numTypes]nackRecord
	// ackedSet is the last set the client accepted, which stays in force when a newer one is refused.
	ackedSet [numTypes]typeSet
	// staged holds back LDS and RDS until the client has the endpoints of newly added clusters.
	staged   bool
	stagedAt time.Time
	// budget is the share of the send budget each type's unanswered response holds (budget.go).
	budget [numTypes]heldBudget
}

func newConn(id int64, proxy *model.Proxy, aggregated bool, now time.Time) *conn {
	return &conn{id: id, proxy: proxy, aggregated: aggregated, connectedAt: now,
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

// protocol names the stream's variant of xDS, for logs and debug output.
func (c *conn) protocol() string {
	if c.delta {
		return "Delta"
	}
	return "SotW"
}

// notify wakes the stream's loop without ever blocking the caller.
func (c *conn) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the stream; safe to call more than once.
func (c *conn) close() { c.stopOnce.Do(func() { close(c.stop) }) }

// listenerNames are the listeners a proxyless client asked for.
func (c *conn) listenerNames() []string {
	names := make([]string, 0, len(c.subs[lds].names))
	for name := range c.subs[lds].names {
		names = append(names, name)
	}
	return names
}

// remember keeps a sent set so that its ACK can be matched to it and the config dump can show it.
// Versions name content, so a flapping endpoint brings an earlier version back: the newer set
// replaces the older one, or its ACK would be measured from the change that first made it.
func (c *conn) remember(t int, s typeSet) {
	const keep = 4
	c.recent[t] = slices.DeleteFunc(c.recent[t], func(r typeSet) bool { return r.version == s.version })
	c.recent[t] = append(c.recent[t], s)
	if len(c.recent[t]) > keep {
		c.recent[t] = c.recent[t][1:]
	}
}

func (c *conn) recentSet(t int, version string) (typeSet, bool) {
	for _, r := range c.recent[t] {
		if r.version == version {
			return r, true
		}
	}
	return typeSet{}, false
}

// translate computes the stream's desired resources from a snapshot. When the translator fails,
// the stream keeps what it had (and a new stream gets nothing rather than an empty config).
func (c *conn) translate(snap *model.Snapshot, cache *translationCache) error {
	var listeners []string
	if c.proxy.Proxyless {
		listeners = c.listenerNames()
	}
	tr, in, err := cache.get(c.proxy, listeners, c.inbound)
	if err != nil {
		return err
	}
	c.generation = snap.Generation
	c.desired, c.warnings, c.inbound = tr.sets, tr.warnings, in
	return nil
}

// publish decides what the stream is to be sent next (see next) and reports whether that differs
// from what it runs, so that the stream's loop has something to send.
func (c *conn) publish(now time.Time, stageTimeout time.Duration) bool {
	if c.generation == 0 {
		return false // nothing translated yet: the model has not synced
	}
	if c.proxy.Proxyless && !c.subs[lds].requested {
		// A gRPC client's listeners decide everything else it gets. One that reconnects (to a restarted
		// pilot, say) may ask for clusters before it names its listeners; answering then would tell it
		// that every cluster it uses is gone.
		return false
	}
	c.published = c.next(now, stageTimeout)
	for t := range numTypes {
		if c.due(t) {
			return true
		}
	}
	return false
}

// due says whether a response of type t should go out now: the client asked for the type, the
// previous response was answered, and there is a decided set it does not run yet. A set not decided
// yet (version "") is never sent: that would tell the client its resources are gone.
func (c *conn) due(t int) bool {
	p := c.published[t]
	return c.subs[t].requested && !c.inflight[t] && p.version != "" && p.version != c.holds[t]
}

// filteredSet is a desired set filtered to a subscription, and what it was made from: the desired
// set's entries themselves (an equal set from a new translation is filtered again, so that the
// filtered set never keeps an older translation's resources alive) and the subscription's count.
type filteredSet struct {
	from   []*resource
	subGen uint64
	set    typeSet
	// whole says the subscription kept all of from: a set naming the same resources (an endpoint
	// push patches a few) is then kept whole without a scan; names is from's names digest.
	whole bool
	names uint64
}

// subscribe sets a type's subscription. The conn's lock is held.
func (c *conn) subscribe(t int, sub subscription) {
	c.subs[t] = sub
	c.subGen[t]++
}

// wanted is the desired set of a type filtered to its subscription, filtered again only when one of
// them changed. The conn's lock is held.
func (c *conn) wanted(t int) typeSet {
	f, d := &c.filtered[t], c.desired[t]
	switch {
	case len(d.entries) > 0 && sameEntries(f.from, d.entries) && f.subGen == c.subGen[t]:
	case len(d.entries) > 0 && f.whole && f.subGen == c.subGen[t] && f.names == d.names && len(f.from) == len(d.entries):
		*f = filteredSet{from: d.entries, subGen: c.subGen[t], set: d, whole: true, names: d.names}
	default:
		set := d.filter(c.subs[t])
		whole := len(d.entries) > 0 && sameEntries(set.entries, d.entries)
		*f = filteredSet{from: d.entries, subGen: c.subGen[t], set: set, whole: whole, names: d.names}
	}
	return f.set
}

// sameEntries says whether two entry lists are one and the same (not merely equal).
func sameEntries(a, b []*resource) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// namesKey identifies a request's list of names, in order, without keeping it: a hash (with the
// server's random seed, so that no client can aim at a collision) and the count.
type namesKey struct {
	hash uint64
	n    int
}
