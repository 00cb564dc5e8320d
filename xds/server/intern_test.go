package server

import (
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Two views that translate a resource to the same bytes hold one copy of it; a resource of the same
// name but other bytes stays its own, and the sets' versions are what they would be unshared.
func TestViewsShareEqualResources(t *testing.T) {
	set := func(timeouts ...int64) typeSet {
		names := []string{"a", "b"}
		items := make([]types.Resource, len(names))
		for i, n := range names {
			items[i] = &clusterv3.Cluster{Name: n, ConnectTimeout: durationpb.New(time.Duration(timeouts[i]) * time.Second)}
		}
		return newTypeSet(names, items, time.Time{})
	}
	shared := newInterner()
	first := shared.intern(set(1, 1))
	unshared := set(1, 2)
	second := shared.intern(set(1, 2))
	if second.entries[0] != first.entries[0] {
		t.Error("equal resources of two views are two copies")
	}
	if second.entries[1] == first.entries[1] {
		t.Error("resources of other bytes were shared")
	}
	if second.version != unshared.version {
		t.Errorf("sharing changed the set's version: %s, unshared %s", second.version, unshared.version)
	}
}

func TestTranslationTurnsLeaveCoresToServe(t *testing.T) {
	for cores, want := range map[int]int{1: 1, 2: 1, 4: 2, 16: 8} {
		if got := translationTurns(cores); got != want {
			t.Errorf("%d cores: %d views at once, want %d", cores, got, want)
		}
	}
}
