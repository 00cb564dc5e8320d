package server

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
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
	// changedAt is when the model change this set reflects was seen, for the convergence metric.
	changedAt time.Time
	// cache is the set in go-control-plane's form, built once and shared by every node offered the set.
	cache *cacheResources
}

type cacheResources struct {
	once sync.Once
	r    cachev3.Resources
}

// resources is the set as the snapshot cache takes it.
func (s typeSet) resources() cachev3.Resources {
	if s.cache == nil {
		return cachev3.NewResources(s.version, s.items)
	}
	s.cache.once.Do(func() { s.cache.r = cachev3.NewResources(s.version, s.items) })
	return s.cache.r
}

// newTypeSet hashes resources that are already sorted by name.
func newTypeSet(names []string, items []types.Resource, changedAt time.Time) typeSet {
	hashes := make([]string, len(items))
	marshal := proto.MarshalOptions{Deterministic: true}
	for i, item := range items {
		b, err := marshal.Marshal(item)
		if err != nil {
			panic("server: a translated resource does not marshal: " + err.Error())
		}
		sum := sha256.Sum256(b)
		hashes[i] = hex.EncodeToString(sum[:8])
	}
	s := typeSet{names: names, items: items, hashes: hashes, changedAt: changedAt, cache: &cacheResources{}}
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
	out := typeSet{changedAt: s.changedAt, cache: &cacheResources{}}
	for i, n := range s.names {
		if sub.names[n] {
			out.names = append(out.names, n)
			out.items = append(out.items, s.items[i])
			out.hashes = append(out.hashes, s.hashes[i])
		}
	}
	out.version = out.hashVersion()
	return out
}

// merge returns the union of two sets whose names do not overlap, sorted, without rehashing their
// resources.
func (s typeSet) merge(o typeSet) typeSet {
	if len(o.names) == 0 {
		return s
	}
	n := len(s.names) + len(o.names)
	out := typeSet{names: make([]string, 0, n), items: make([]types.Resource, 0, n), hashes: make([]string, 0, n),
		changedAt: s.changedAt, cache: &cacheResources{}}
	i, j := 0, 0
	for i < len(s.names) || j < len(o.names) {
		if j == len(o.names) || i < len(s.names) && s.names[i] < o.names[j] {
			out.names, out.items, out.hashes = append(out.names, s.names[i]), append(out.items, s.items[i]), append(out.hashes, s.hashes[i])
			i++
			continue
		}
		out.names, out.items, out.hashes = append(out.names, o.names[j]), append(out.items, o.items[j]), append(out.hashes, o.hashes[j])
		j++
	}
	out.version = out.hashVersion()
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

// union merges the subscriptions of several streams of one node.
func union(subs []subscription) subscription {
	if len(subs) == 1 {
		return subs[0] // the usual case: one stream per node
	}
	out := subscription{names: map[string]bool{}}
	for _, s := range subs {
		out.requested = out.requested || s.requested
		out.wildcard = out.wildcard || s.wildcard
		for n := range s.names {
			out.names[n] = true
		}
	}
	return out
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
