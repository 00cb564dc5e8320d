package server

import (
	"sync"
	"time"

	"github.com/minipilot/minipilot/model"
)

// nodeState is everything the server knows of one connected node. Its lock orders the node's
// publishes: one computed from an older model snapshot never overwrites a newer one.
type nodeState struct {
	mu    sync.Mutex
	id    string
	proxy *model.Proxy

	connectedAt time.Time
	streams     map[int64]*streamState

	// generation is the model snapshot desired was translated from; 0 before the first translation.
	generation uint64
	desired    [numTypes]typeSet // the full translation, before filtering
	warnings   []string
	published  [numTypes]typeSet // what the snapshot cache holds for the node now
	recent     [numTypes][]typeSet

	sent  [numTypes]exchange
	acked [numTypes]exchange
	nack  [numTypes]nackRecord
	// ackedSet is the last set the node accepted, which stays in force when a newer one is refused.
	ackedSet [numTypes]typeSet
	// staged holds back LDS and RDS until the node has the endpoints of newly added clusters.
	staged   bool
	stagedAt time.Time
}

// streamState is one gRPC stream of a node.
type streamState struct {
	subs      [numTypes]subscription
	sentNonce [numTypes]string
}

// exchange records one response or acknowledgement.
type exchange struct {
	Version string    `json:"version,omitempty"`
	Nonce   string    `json:"nonce,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// nackRecord is the last refusal of a type.
type nackRecord struct {
	exchange
	Message string `json:"message,omitempty"`
}

// subscription merges what all the node's streams asked for of a type.
func (n *nodeState) subscription(t int) subscription {
	subs := make([]subscription, 0, len(n.streams))
	for _, st := range n.streams {
		subs = append(subs, st.subs[t])
	}
	return union(subs)
}

// listenerNames are the listeners a proxyless client asked for.
func (n *nodeState) listenerNames() []string {
	sub := n.subscription(lds)
	names := make([]string, 0, len(sub.names))
	for name := range sub.names {
		names = append(names, name)
	}
	return names
}

// remember keeps a published set so that a later response and its ACK can be matched to it.
func (n *nodeState) remember(t int, s typeSet) {
	const keep = 4
	for _, r := range n.recent[t] {
		if r.version == s.version {
			return
		}
	}
	n.recent[t] = append(n.recent[t], s)
	if len(n.recent[t]) > keep {
		n.recent[t] = n.recent[t][1:]
	}
}

func (n *nodeState) recentSet(t int, version string) (typeSet, bool) {
	for _, r := range n.recent[t] {
		if r.version == version {
			return r, true
		}
	}
	return typeSet{}, false
}

// next decides what to publish for each type: the desired set filtered to the subscription, except
// that a set the node refused is not offered again (the last accepted one stays), and that an Envoy
// gets LDS and RDS only once it holds the endpoints of new clusters (make-before-break).
func (n *nodeState) next(now time.Time, stageTimeout time.Duration) [numTypes]typeSet {
	var out [numTypes]typeSet
	for t := range numTypes {
		set := n.desired[t].filter(n.subscription(t))
		if n.nack[t].Version != "" && set.version == n.nack[t].Version {
			set = n.ackedSet[t]
		}
		out[t] = set
	}
	if n.proxy.Proxyless {
		return out
	}
	// Envoy asks for the endpoints of the clusters it learns of; until it has them and has accepted
	// them, the listeners and routes that lead to those clusters wait.
	complete := out[eds].version == n.desired[eds].version
	acked := n.acked[eds].Version == out[eds].version
	switch {
	case len(n.desired[eds].names) == 0 || complete && acked:
		n.staged = false
	case n.staged && now.Sub(n.stagedAt) > stageTimeout:
		n.staged = false // the node will not ask for some endpoints; do not hold everything else for it
	case !complete || !acked:
		if !n.staged {
			n.staged, n.stagedAt = true, now
		}
	}
	if n.staged {
		out[lds], out[rds] = n.published[lds], n.published[rds]
	}
	return out
}
