package server

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

func clusterEntry(name string, timeout time.Duration) *resource {
	return newResource(name, &clusterv3.Cluster{Name: name, ConnectTimeout: durationpb.New(timeout)})
}

// A set's names digest follows its names through patch, merge and filter, not its content: an
// endpoint push that replaces resources keeps it, one that adds or drops a name does not.
func TestTypeSetNamesFollowNames(t *testing.T) {
	base := setOf([]*resource{clusterEntry("a", time.Second), clusterEntry("b", time.Second), clusterEntry("c", time.Second)}, time.Time{})
	replaced := base.patch(setOf([]*resource{clusterEntry("b", 2*time.Second)}, time.Time{}))
	if replaced.version == base.version || !sameNames(replaced, base) {
		t.Errorf("replacing b: version %s→%s, same names %v; want a new version and the same names", base.version, replaced.version, sameNames(replaced, base))
	}
	added := base.patch(setOf([]*resource{clusterEntry("d", time.Second)}, time.Time{}))
	if sameNames(added, base) {
		t.Error("adding d kept the names digest")
	}
	if fresh := setOf(added.entries, time.Time{}); fresh.names != added.names || fresh.version != added.version {
		t.Error("patch's names or version differ from the same set built from scratch")
	}
	if dropped := base.without([]string{"c"}); sameNames(dropped, base) {
		t.Error("dropping c kept the names digest")
	}
	left, right := setOf(base.entries[:1], time.Time{}), setOf(base.entries[1:], time.Time{})
	if merged := left.merge(right); !sameNames(merged, base) || merged.version != base.version {
		t.Error("merging the halves of a set is not that set")
	}
	if kept := base.filter(subscription{requested: true, names: map[string]bool{"a": true, "b": true, "c": true}}); !sameEntries(kept.entries, base.entries) {
		t.Error("a subscription to every name does not keep the set itself")
	}
}

// What changed between two sets is the same whether they name the same resources (compared in
// place) or not (compared by name), whatever was replaced, added or dropped.
func TestChangedSinceEqualsComparingByName(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 500 {
		var entries []*resource
		for i := range 1 + rng.IntN(30) {
			entries = append(entries, clusterEntry(fmt.Sprintf("c%03d", i), time.Second))
		}
		prev := setOf(entries, time.Time{})
		var fresh []*resource
		for _, e := range prev.entries {
			switch rng.IntN(6) {
			case 0: // new content
				fresh = append(fresh, clusterEntry(e.name, 2*time.Second))
			case 1: // the same content, translated again
				fresh = append(fresh, clusterEntry(e.name, time.Second))
			}
		}
		next := prev.patch(setOf(fresh, time.Time{}))
		if rng.IntN(3) == 0 {
			next = next.without([]string{prev.entries[rng.IntN(len(prev.entries))].name})
		}
		if rng.IntN(3) == 0 {
			next = next.patch(setOf([]*resource{clusterEntry("c999", time.Second)}, time.Time{}))
		}
		if got, want := names(next.changedSince(prev)), names(next.changedSinceByName(prev)); !slices.Equal(got, want) {
			t.Fatalf("changed: %v, by name %v", got, want)
		}
	}
}
