package server

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

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

// resource is one translated resource, immutable and shared by every set (of every view and
// stream) that holds it.
type resource struct {
	name string
	// hash is the resource's version: a hash of its deterministic wire bytes.
	hash string
	// raw holds the wire bytes, marshalled once for the hash and sent as they are: a push marshals
	// nothing per stream. It is the value's part of wire's Any.
	raw  []byte
	wire *wire
	// digest is the resource's share of its set's version; nameDigest its name's share of its
	// set's names (typeSet.names).
	digest, nameDigest uint64
	// uses lists the clusters a route config or listener sends traffic to, for make-before-break.
	uses []string
}

// typeSet is one type's resources for a view or a stream, sorted by name, with a version that is a
// hash of their content, so that an unchanged set never causes a push. The version is a sum of the
// resources' digests: order-independent, so that replacing a few resources (an endpoint change)
// or adding a stream's inbound side updates it without hashing the whole set again.
type typeSet struct {
	version string
	sum     uint64
	// names is the sum of the entries' name digests: two sets with the same names (and count) have
	// the same, so that a stream can tell without a scan that a patched set names what it did.
	names   uint64
	entries []*resource // sorted by name
	// changedAt is when the model change this set reflects was seen, for the convergence metric.
	changedAt time.Time
}

// newResource marshals and hashes one resource.
func newResource(name string, item types.Resource) *resource {
	body, b, err := marshalResource(item)
	if err != nil {
		panic("server: a translated resource does not marshal: " + err.Error())
	}
	var uses []string
	switch m := item.(type) {
	case *routev3.RouteConfiguration:
		uses = translate.RouteClusters(m)
	case *listenerv3.Listener:
		uses = translate.ListenerClusters(m)
	}
	return hashedResource(name, body[:len(body)-len(b)], b, uses)
}

// encodedRoute is newResource for a route config the translator encoded itself: its bytes are
// sent as they are.
func encodedRoute(rc translate.EncodedRoute) *resource {
	return hashedResource(rc.Name, anyHead(typeURLs[rds], len(rc.Value), 0), rc.Value, rc.Clusters)
}

// hashedResource hashes a resource's value, which anyHead makes an Any.
func hashedResource(name string, anyHead, value []byte, uses []string) *resource {
	content := sha256.Sum256(value)
	return &resource{name: name, hash: hex.EncodeToString(content[:8]), raw: value, wire: newWire(anyHead, value), digest: digestOf(name, content[:]),
		nameDigest: nameDigestOf(name), uses: uses}
}

// nameDigestOf is a name's share of a set's names (FNV-1a).
func nameDigestOf(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}

// sameNames says whether two sets name the same resources (by their names' digests and count).
func sameNames(a, b typeSet) bool { return a.names == b.names && len(a.entries) == len(b.entries) }

// digestOf is a resource's share of a set's version: a hash of its name and content.
func digestOf(name string, content []byte) uint64 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(content)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// newTypeSet hashes resources that are already sorted by name (for the few sets built outside a
// translation: tests).
func newTypeSet(names []string, items []types.Resource, changedAt time.Time) typeSet {
	entries := make([]*resource, len(items))
	for i, item := range items {
		entries[i] = newResource(names[i], item)
	}
	return setOf(entries, changedAt)
}

// setOf makes a set of sorted entries, summing their digests.
func setOf(entries []*resource, changedAt time.Time) typeSet {
	s := typeSet{entries: entries, changedAt: changedAt}
	for _, e := range entries {
		s.sum += e.digest
		s.names += e.nameDigest
	}
	s.version = versionOf(s.sum, len(entries))
	return s
}

// versionOf names a set's content: the sum of its digests, with the count so that the empty set
// has a version too ("" means no set).
func versionOf(sum uint64, n int) string {
	return strconv.FormatUint(sum, 36) + "-" + strconv.Itoa(n)
}

// nameSet returns the set's names as a set.
func (s typeSet) nameSet() map[string]bool {
	out := make(map[string]bool, len(s.entries))
	for _, e := range s.entries {
		out[e.name] = true
	}
	return out
}

// filter keeps the resources a subscription names; a wildcard subscription keeps all.
func (s typeSet) filter(sub subscription) typeSet {
	if sub.wildcard {
		return s
	}
	kept := 0
	for _, e := range s.entries {
		if sub.names[e.name] {
			kept++
		}
	}
	if kept == len(s.entries) {
		return s // asked for everything there is: share the set, and its version
	}
	out := make([]*resource, 0, kept)
	for _, e := range s.entries {
		if sub.names[e.name] {
			out = append(out, e)
		}
	}
	return setOf(out, s.changedAt)
}

// merge returns the union of two sets whose names do not overlap, sorted, without rehashing their
// resources.
func (s typeSet) merge(o typeSet) typeSet {
	if len(o.entries) == 0 {
		return s
	}
	out := make([]*resource, 0, len(s.entries)+len(o.entries))
	i, j := 0, 0
	for i < len(s.entries) || j < len(o.entries) {
		if j == len(o.entries) || i < len(s.entries) && s.entries[i].name < o.entries[j].name {
			out = append(out, s.entries[i])
			i++
			continue
		}
		out = append(out, o.entries[j])
		j++
	}
	m := typeSet{entries: out, changedAt: s.changedAt, sum: s.sum + o.sum, names: s.names + o.names}
	m.version = versionOf(m.sum, len(out))
	return m
}

// patch returns the set with some of its resources replaced (or added): the others are shared as
// they are, and the version is updated by the difference alone. fresh is sorted by name.
func (s typeSet) patch(fresh typeSet) typeSet {
	if len(fresh.entries) == 0 {
		return s
	}
	out := make([]*resource, 0, len(s.entries)+len(fresh.entries))
	sum, names := s.sum, s.names
	i, j := 0, 0
	for i < len(s.entries) || j < len(fresh.entries) {
		switch {
		case j == len(fresh.entries) || i < len(s.entries) && s.entries[i].name < fresh.entries[j].name:
			out = append(out, s.entries[i])
			i++
		case i < len(s.entries) && s.entries[i].name == fresh.entries[j].name:
			sum += fresh.entries[j].digest - s.entries[i].digest
			out = append(out, fresh.entries[j])
			i, j = i+1, j+1
		default:
			sum += fresh.entries[j].digest
			names += fresh.entries[j].nameDigest
			out = append(out, fresh.entries[j])
			j++
		}
	}
	p := typeSet{entries: out, changedAt: fresh.changedAt, sum: sum, names: names}
	p.version = versionOf(sum, len(out))
	return p
}

// changedSince lists the entries of s that prev lacks or holds with other content: what a response
// that updates prev to s must carry (an EDS or RDS response may carry just those).
func (s typeSet) changedSince(prev typeSet) []*resource {
	if len(s.entries) == len(prev.entries) && s.names == prev.names {
		// The same names (an endpoint push patched a few resources): both sorted, so compared in
		// place, by pointer, without comparing thousands of names per stream.
		var out []*resource
		for i, e := range s.entries {
			if p := prev.entries[i]; p != e && p.hash != e.hash {
				if p.name != e.name {
					return s.changedSinceByName(prev) // the names' digests met by chance
				}
				out = append(out, e)
			}
		}
		return out
	}
	return s.changedSinceByName(prev)
}

func (s typeSet) changedSinceByName(prev typeSet) []*resource {
	var out []*resource
	j := 0
	for _, e := range s.entries {
		for j < len(prev.entries) && prev.entries[j].name < e.name {
			j++
		}
		if j < len(prev.entries) && prev.entries[j] == e || j < len(prev.entries) && prev.entries[j].name == e.name && prev.entries[j].hash == e.hash {
			continue
		}
		out = append(out, e)
	}
	return out
}

// missingFrom lists, sorted, the names of s that o lacks: in a Delta response, what went away.
func (s typeSet) missingFrom(o typeSet) []string {
	var out []string
	for _, e := range missing(o, s) {
		out = append(out, e.name)
	}
	return out
}

// without returns the set less the named resources.
func (s typeSet) without(names []string) typeSet {
	drop := make(map[string]bool, len(names))
	for _, n := range names {
		drop[n] = true
	}
	kept := make([]*resource, 0, len(s.entries))
	for _, e := range s.entries {
		if !drop[e.name] {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(s.entries) {
		return s
	}
	return setOf(kept, s.changedAt)
}

// heldVersions is what a reconnecting Delta client says it has (initial_resource_versions): names
// and versions only, enough to tell what it lacks.
func heldVersions(versions map[string]string) typeSet {
	entries := make([]*resource, 0, len(versions))
	for name, version := range versions {
		entries = append(entries, &resource{name: name, hash: version, digest: digestOf(name, []byte(version)), nameDigest: nameDigestOf(name)})
	}
	slices.SortFunc(entries, func(a, b *resource) int { return cmp.Compare(a.name, b.name) })
	return setOf(entries, time.Time{})
}

// desiredSets turns a translation into one typeSet per type, sharing the resources shared holds
// (nil: none).
func desiredSets(r *translate.Resources, changedAt time.Time, shared *interner) [numTypes]typeSet {
	var out [numTypes]typeSet
	out[cds] = shared.intern(collect(r.Clusters, func(i int) string { return r.Clusters[i].Name }, changedAt))
	out[eds] = shared.intern(collect(r.Endpoints, func(i int) string { return r.Endpoints[i].ClusterName }, changedAt))
	out[lds] = shared.intern(collect(r.Listeners, func(i int) string { return r.Listeners[i].Name }, changedAt))
	if r.EncodedRoutes != nil {
		entries := make([]*resource, len(r.EncodedRoutes))
		for i, rc := range r.EncodedRoutes {
			entries[i] = encodedRoute(rc)
		}
		out[rds] = shared.intern(setOf(entries, changedAt))
	} else {
		out[rds] = shared.intern(collect(r.Routes, func(i int) string { return r.Routes[i].Name }, changedAt))
	}
	return out
}

func collect[T types.Resource](items []T, name func(int) string, changedAt time.Time) typeSet {
	entries := make([]*resource, len(items))
	for i, item := range items {
		entries[i] = newResource(name(i), item)
	}
	return setOf(entries, changedAt)
}
