package server

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/xds/translate"
)

// The four types minipilot serves, indexed in the order a push sends them (make-before-break).
const (
	cds = iota
	eds
	lds
	rds
	numTypes
)

var typeURLs = [numTypes]string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}

// typeShort names types in debug output and metrics.
var typeShort = [numTypes]string{"cds", "eds", "lds", "rds"}

func typeIndex(url string) (int, bool) {
	for i, u := range typeURLs {
		if u == url {
			return i, true
		}
	}
	return 0, false
}

// typeSet is one type's resources for one node, with a version that is a hash of their content, so
// that an unchanged set never causes a push.
type typeSet struct {
	version string
	names   []string // sorted
	items   []types.Resource
	hashes  []string
	// raw holds each resource's deterministic wire bytes, marshalled once for its hash and sent as
	// they are: every node offered the set shares them, so a push marshals nothing per node.
	raw [][]byte
	// changedAt is when the model change this set reflects was seen, for the convergence metric.
	changedAt time.Time
}

// newTypeSet hashes resources that are already sorted by name.
func newTypeSet(names []string, items []types.Resource, changedAt time.Time) typeSet {
	hashes := make([]string, len(items))
	raw := make([][]byte, len(items))
	marshal := proto.MarshalOptions{Deterministic: true}
	for i, item := range items {
		b, err := marshal.Marshal(item)
		if err != nil {
			panic("server: a translated resource does not marshal: " + err.Error())
		}
		sum := sha256.Sum256(b)
		hashes[i], raw[i] = hex.EncodeToString(sum[:8]), b
	}
	s := typeSet{names: names, items: items, hashes: hashes, raw: raw, changedAt: changedAt}
	s.version = s.hashVersion()
	return s
}

func (s typeSet) hashVersion() string {
	h := sha256.New()
	for i, n := range s.names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(s.hashes[i]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// filter keeps the resources a subscription names; a wildcard subscription keeps all.
func (s typeSet) filter(sub subscription) typeSet {
	if sub.wildcard {
		return s
	}
	kept := 0
	for _, n := range s.names {
		if sub.names[n] {
			kept++
		}
	}
	if kept == len(s.names) {
		return s // asked for everything there is: share the set, and its version
	}
	out := typeSet{changedAt: s.changedAt}
	for i, n := range s.names {
		if sub.names[n] {
			out.add(s, i)
		}
	}
	out.version = out.hashVersion()
	return out
}

// add appends entry i of another set.
func (s *typeSet) add(from typeSet, i int) {
	s.names = append(s.names, from.names[i])
	s.items = append(s.items, from.items[i])
	s.hashes = append(s.hashes, from.hashes[i])
	s.raw = append(s.raw, from.raw[i])
}

// merge returns the union of two sets whose names do not overlap, sorted, without rehashing their
// resources.
func (s typeSet) merge(o typeSet) typeSet {
	if len(o.names) == 0 {
		return s
	}
	out := typeSet{changedAt: s.changedAt}
	i, j := 0, 0
	for i < len(s.names) || j < len(o.names) {
		if j == len(o.names) || i < len(s.names) && s.names[i] < o.names[j] {
			out.add(s, i)
			i++
			continue
		}
		out.add(o, j)
		j++
	}
	out.version = out.hashVersion()
	return out
}

// patch returns the set with some of its resources replaced (or added): the others keep their
// hashes and wire bytes, so that only what changed is marshalled. fresh is sorted by name.
func (s typeSet) patch(fresh typeSet) typeSet {
	if len(fresh.names) == 0 {
		return s
	}
	out := typeSet{changedAt: fresh.changedAt}
	i, j := 0, 0
	for i < len(s.names) || j < len(fresh.names) {
		switch {
		case j == len(fresh.names) || i < len(s.names) && s.names[i] < fresh.names[j]:
			out.add(s, i)
			i++
		case i < len(s.names) && s.names[i] == fresh.names[j]:
			out.add(fresh, j)
			i, j = i+1, j+1
		default:
			out.add(fresh, j)
			j++
		}
	}
	out.version = out.hashVersion()
	return out
}

// changedSince lists the entries of s that prev lacks or holds with other content: what a response
// that updates prev to s must carry (an EDS or RDS response may carry just those).
func (s typeSet) changedSince(prev typeSet) typeSet {
	out := typeSet{version: s.version, changedAt: s.changedAt}
	j := 0
	for i, name := range s.names {
		for j < len(prev.names) && prev.names[j] < name {
			j++
		}
		if j < len(prev.names) && prev.names[j] == name && prev.hashes[j] == s.hashes[i] {
			continue
		}
		out.add(s, i)
	}
	return out
}

// desiredSets turns a translation into one typeSet per type.
func desiredSets(r *translate.Resources, changedAt time.Time) [numTypes]typeSet {
	var out [numTypes]typeSet
	out[cds] = collect(r.Clusters, func(i int) string { return r.Clusters[i].Name }, changedAt)
	out[eds] = collect(r.Endpoints, func(i int) string { return r.Endpoints[i].ClusterName }, changedAt)
	out[lds] = collect(r.Listeners, func(i int) string { return r.Listeners[i].Name }, changedAt)
	out[rds] = collect(r.Routes, func(i int) string { return r.Routes[i].Name }, changedAt)
	return out
}

func collect[T types.Resource](items []T, name func(int) string, changedAt time.Time) typeSet {
	names := make([]string, len(items))
	res := make([]types.Resource, len(items))
	for i, item := range items {
		names[i], res[i] = name(i), item
	}
	return newTypeSet(names, res, changedAt)
}

// subscription is what a client asked for of one type.
type subscription struct {
	requested bool // the client has asked for this type at all
	wildcard  bool
	names     map[string]bool
}

func newSubscription(names []string) subscription {
	sub := subscription{requested: true, wildcard: len(names) == 0, names: map[string]bool{}}
	for _, n := range names {
		if n == "*" {
			sub.wildcard = true
			continue
		}
		sub.names[n] = true
	}
	return sub
}

func (s subscription) sameAs(o subscription) bool {
	if s.requested != o.requested || s.wildcard != o.wildcard || len(s.names) != len(o.names) {
		return false
	}
	for n := range s.names {
		if !o.names[n] {
			return false
		}
	}
	return true
}
