package server

import (
	"sync"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
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
// that a set the node refused is not offered again (the last accepted one stays), and that changes
// are made before they break anything: clusters still used by the routes a node runs stay until it
// has taken routes that no longer use them, an Envoy gets LDS and RDS only once it holds the
// endpoints of new clusters, and a gRPC client prepares new clusters before routes use them.
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
		n.warmUp(&out, now, stageTimeout)
	}
	inUse := sync.OnceValue(func() map[string]bool { return routeClusters(out[rds], n.ackedSet[rds]) })
	out[cds] = retain(out[cds], n.published[cds], inUse)
	out[eds] = retain(out[eds], n.published[eds], inUse)
	if !n.proxy.Proxyless {
		n.holdListeners(&out, now, stageTimeout)
	}
	return out
}

// holdListeners keeps an Envoy's LDS and RDS back until it has asked for, and accepted, the
// endpoints of every EDS cluster: Envoy asks for the endpoints of the clusters it learns of, and
// routes to a cluster without them fail.
func (n *nodeState) holdListeners(out *[numTypes]typeSet, now time.Time, stageTimeout time.Duration) {
	complete := containsAll(out[eds].names, n.desired[eds].names)
	acked := n.acked[eds].Version == out[eds].version
	switch {
	case len(n.desired[eds].names) == 0 || complete && acked:
		n.staged = false
	case n.staged && now.Sub(n.stagedAt) > stageTimeout:
		n.staged = false // the node will not ask for some endpoints; do not hold everything else for it
	case !n.staged:
		n.staged, n.stagedAt = true, now
	}
	if n.staged {
		out[lds], out[rds] = n.published[lds], n.published[rds]
	}
}

// routeClusters lists the clusters that the route configs of some sets lead to.
func routeClusters(sets ...typeSet) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for _, item := range s.items {
			for _, c := range translate.RouteClusters(item.(*routev3.RouteConfiguration)) {
				out[c] = true
			}
		}
	}
	return out
}

// retain adds to cur the resources of prev that cur lacks but routes still use.
func retain(cur, prev typeSet, inUse func() map[string]bool) typeSet {
	gone := missing(cur.names, prev.names)
	if len(gone) == 0 {
		return cur // nothing was removed: the usual case, decided without allocating
	}
	used := inUse()
	var kept typeSet
	for _, i := range gone {
		if used[prev.names[i]] {
			kept.add(prev, i)
		}
	}
	return cur.merge(kept) // both sorted, names disjoint: no re-sorting, no re-marshalling
}

// missing returns the indexes of the names in want that have is lacks; both are sorted.
func missing(have, want []string) []int {
	var out []int
	i := 0
	for j, w := range want {
		for i < len(have) && have[i] < w {
			i++
		}
		if i == len(have) || have[i] != w {
			out = append(out, j)
		}
	}
	return out
}

func containsAll(have, want []string) bool { return len(missing(have, want)) == 0 }

// warmUp is make-before-break for gRPC clients: while routes would lead to clusters the client has not
// accepted (with their endpoints) yet, it keeps the routes it has and adds a route that matches nothing
// but names the new clusters, so that the client prepares them first.
func (n *nodeState) warmUp(out *[numTypes]typeSet, now time.Time, stageTimeout time.Duration) {
	have := map[string]bool{}
	for _, name := range n.ackedSet[cds].names {
		have[name] = true
	}
	edsClusters := map[string]bool{}
	for _, name := range n.desired[eds].names {
		edsClusters[name] = true
	}
	accepted := map[string]bool{}
	for _, name := range n.ackedSet[eds].names {
		accepted[name] = true
	}
	ready := func(cluster string) bool { return have[cluster] && (!edsClusters[cluster] || accepted[cluster]) }

	published := map[string]types.Resource{}
	for i, name := range n.published[rds].names {
		published[name] = n.published[rds].items[i]
	}
	var names []string
	var items []types.Resource
	warming := false
	for i, name := range out[rds].names {
		rc := out[rds].items[i].(*routev3.RouteConfiguration)
		old, ok := published[name]
		var missing []string
		for _, c := range translate.RouteClusters(rc) {
			if !ready(c) {
				missing = append(missing, c)
			}
		}
		if !ok || len(missing) == 0 {
			names, items = append(names, name), append(items, rc)
			continue // a new route config has no traffic to protect yet
		}
		warming = true
		names = append(names, name)
		items = append(items, translate.WithWarmupRoute(stripWarmup(old.(*routev3.RouteConfiguration)), missing))
	}
	switch {
	case !warming:
		n.staged = false
	case n.staged && now.Sub(n.stagedAt) > stageTimeout:
		n.staged = false // the client will not take the clusters; give it the routes anyway
	default:
		if !n.staged {
			n.staged, n.stagedAt = true, now
		}
		out[rds] = newTypeSet(names, items, out[rds].changedAt)
	}
}

// stripWarmup removes an earlier warm-up route, so that warm-ups do not pile up.
func stripWarmup(rc *routev3.RouteConfiguration) *routev3.RouteConfiguration {
	if len(rc.VirtualHosts) == 0 || len(rc.VirtualHosts[0].Routes) == 0 || rc.VirtualHosts[0].Routes[0].Name != translate.WarmupRouteName {
		return rc
	}
	out := proto.Clone(rc).(*routev3.RouteConfiguration)
	out.VirtualHosts[0].Routes = out.VirtualHosts[0].Routes[1:]
	return out
}
