package server

import (
	"sync"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/xds/translate"
)

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
	// Resources are the resources of the refused response that the message names: Envoy names the
	// ones it could not take.
	Resources []string `json:"resources,omitempty"`
}

// next decides what to publish for each type: the desired set filtered to the subscription, except
// that a set the client refused is not offered again (the last accepted one stays), and that changes
// are made before they break anything: clusters still used by the routes a client runs stay until it
// has taken routes that no longer use them, an Envoy gets LDS and RDS only once it holds the
// endpoints of new clusters, and a gRPC client prepares new clusters before routes use them.
func (c *conn) next(now time.Time, stageTimeout time.Duration) [numTypes]typeSet {
	var out [numTypes]typeSet
	for t := range numTypes {
		out[t] = c.wanted(t)
	}
	c.keepRefused(&out)
	if c.aggregated && c.proxy.Proxyless {
		c.warmUp(&out, now, stageTimeout)
	}
	// What is kept is what the client holds or is being sent (after a NACK, what it accepted), not
	// everything it was offered: a refused set must not come back through the back door of
	// make-before-break. In use are the clusters of the routes and listeners it runs, is being sent,
	// or is about to be sent.
	inUse := sync.OnceValue(func() map[string]bool {
		return usedClusters(out[rds], c.holdsSet[rds], c.ackedSet[rds], out[lds], c.holdsSet[lds], c.ackedSet[lds])
	})
	out[cds] = retain(out[cds], c.holdsSet[cds], inUse)
	out[eds] = retain(out[eds], c.holdsSet[eds], inUse)
	if c.aggregated && !c.proxy.Proxyless {
		c.holdListeners(&out, now, stageTimeout)
	}
	c.keepRefused(&out)
	return out
}

// keepRefused puts back the accepted set of each type whose next set is one the client refused: it
// keeps what it has until the input changes.
func (c *conn) keepRefused(out *[numTypes]typeSet) {
	for t := range numTypes {
		if c.nack[t].Version != "" && out[t].version == c.nack[t].Version {
			out[t] = c.ackedSet[t]
		}
	}
}

// holdListeners keeps an Envoy's LDS and RDS back until it has asked for, and accepted, the
// endpoints of every EDS cluster: Envoy asks for the endpoints of the clusters it learns of, and
// routes to a cluster without them fail.
func (c *conn) holdListeners(out *[numTypes]typeSet, now time.Time, stageTimeout time.Duration) {
	// Wait only for the endpoints of clusters the client is sent: one that refused its clusters will
	// not ask for the new ones' endpoints, and must not have its routes held on every push for it.
	want := c.desired[eds]
	if out[cds].version != c.desired[cds].version {
		want = want.filter(subscription{names: out[cds].nameSet()})
	}
	// The usual case, an Envoy subscribed to every endpoint set, is decided without a scan.
	complete := out[eds].version == want.version || containsAll(out[eds], want)
	acked := c.acked[eds].Version == out[eds].version
	switch {
	case len(want.entries) == 0 || complete && acked:
		c.staged = false
	case c.staged && now.Sub(c.stagedAt) > stageTimeout:
		c.staged = false // the client will not ask for some endpoints; do not hold everything else for it
	case !c.staged:
		c.staged, c.stagedAt = true, now
	}
	if c.staged {
		out[lds], out[rds] = c.published[lds], c.published[rds]
	}
}

// usedClusters lists the clusters that the route configs and listeners (tcp_proxy) of some sets
// send traffic to.
func usedClusters(sets ...typeSet) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for _, e := range s.entries {
			for _, c := range e.uses {
				out[c] = true
			}
		}
	}
	return out
}

// retain adds to cur the resources of prev that cur lacks but routes still use.
func retain(cur, prev typeSet, inUse func() map[string]bool) typeSet {
	if sameNames(cur, prev) {
		return cur // the same resources (an endpoint push changed some): decided without a scan
	}
	gone := missing(cur, prev)
	if len(gone) == 0 {
		return cur // nothing was removed: the usual case, decided without allocating
	}
	used := inUse()
	var kept []*resource
	for _, e := range gone {
		if used[e.name] {
			kept = append(kept, e)
		}
	}
	return cur.merge(setOf(kept, cur.changedAt)) // both sorted, names disjoint: no re-sorting, no re-marshalling
}

// missing returns the entries of want that have lacks (by name); both are sorted.
func missing(have, want typeSet) []*resource {
	var out []*resource
	i := 0
	for _, w := range want.entries {
		for i < len(have.entries) && have.entries[i].name < w.name {
			i++
		}
		if i == len(have.entries) || have.entries[i].name != w.name {
			out = append(out, w)
		}
	}
	return out
}

func containsAll(have, want typeSet) bool { return len(missing(have, want)) == 0 }

// warmUp is make-before-break for gRPC clients: while routes would lead to clusters the client has not
// accepted (with their endpoints) yet, it keeps the routes it has and adds a route that matches nothing
// but names the new clusters, so that the client prepares them first.
func (c *conn) warmUp(out *[numTypes]typeSet, now time.Time, stageTimeout time.Duration) {
	have, edsClusters, accepted, offered := c.ackedSet[cds].nameSet(), c.desired[eds].nameSet(), c.ackedSet[eds].nameSet(), c.desired[cds].nameSet()
	// A cluster the translation left out (it failed validation) will never be sent: routes to it
	// fail either way, and waiting for it would hold every route change for the stage timeout.
	ready := func(cluster string) bool {
		return !offered[cluster] || have[cluster] && (!edsClusters[cluster] || accepted[cluster])
	}

	published := map[string]*resource{}
	for _, e := range c.published[rds].entries {
		published[e.name] = e
	}
	entries := make([]*resource, 0, len(out[rds].entries))
	warming := false
	for _, e := range out[rds].entries {
		old, ok := published[e.name]
		var missing []string
		for _, c := range e.uses {
			if !ready(c) {
				missing = append(missing, c)
			}
		}
		if !ok || len(missing) == 0 {
			entries = append(entries, e) // a new route config has no traffic to protect yet
			continue
		}
		warming = true
		entries = append(entries, newResource(e.name, translate.WithWarmupRoute(stripWarmup(decodeRouteConfig(old)), missing)))
	}
	switch {
	case !warming:
		c.staged = false
	case c.staged && now.Sub(c.stagedAt) > stageTimeout:
		c.staged = false // the client will not take the clusters; give it the routes anyway
	default:
		if !c.staged {
			c.staged, c.stagedAt = true, now
		}
		out[rds] = setOf(entries, out[rds].changedAt)
	}
}

// decodeRouteConfig reads a published route config back from its bytes: kept as protos, the route
// configs of every view were a third of the heap, for the rare push that warms a gRPC client up.
func decodeRouteConfig(e *resource) *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{}
	if err := proto.Unmarshal(e.raw, rc); err != nil {
		panic("server: a published route config does not unmarshal: " + err.Error())
	}
	return rc
}

// stripWarmup removes an earlier warm-up route, so that warm-ups do not pile up; rc is the caller's.
func stripWarmup(rc *routev3.RouteConfiguration) *routev3.RouteConfiguration {
	if len(rc.VirtualHosts) == 0 || len(rc.VirtualHosts[0].Routes) == 0 || rc.VirtualHosts[0].Routes[0].Name != translate.WarmupRouteName {
		return rc
	}
	rc.VirtualHosts[0].Routes = rc.VirtualHosts[0].Routes[1:]
	return rc
}
