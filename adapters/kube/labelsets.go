package kube

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/minipilot/minipilot/adapters/k8s"
)

// labelSets shares one labels map among the cached Pods that carry the same labels: the replicas of
// a Deployment do (pod-template-hash included), and a mesh of 10,000 Pods cached 10,000 maps of a
// few hundred bytes each for a few hundred distinct sets. Nothing writes a cached Pod's labels (the
// cache and conversion only read them), so a map can be shared.
//
// A set is kept while some Pod that took it is reachable: the collector tells (runtime.AddCleanup)
// when one is not, so a rollout's old pod-template-hash goes with its last Pod, and the table holds
// exactly the sets in use.
type labelSets struct {
	mu   sync.Mutex
	sets map[string]*labelSet // by labelsKey
}

type labelSet struct {
	labels map[string]string
	users  int // Pods that took it and may still be reachable
}

func newLabelSets() *labelSets {
	return &labelSets{sets: map[string]*labelSet{}}
}

// share gives p the shared map equal to its labels (its own, the first time).
func (s *labelSets) share(p *k8s.PodInfo) {
	if len(p.Labels) == 0 {
		return
	}
	key := labelsKey(p.Labels)
	s.mu.Lock()
	set := s.sets[key]
	if set == nil {
		set = &labelSet{labels: p.Labels}
		s.sets[key] = set
	}
	set.users++
	p.Labels = set.labels
	s.mu.Unlock()
	runtime.AddCleanup(p, s.release, key)
}

// release forgets a Pod that took the set of key: the collector found it unreachable.
func (s *labelSets) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.sets[key]; set != nil {
		if set.users--; set.users == 0 {
			delete(s.sets, key)
		}
	}
}

// size is the number of sets kept.
func (s *labelSets) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sets)
}

// labelsKey is m in one string: its pairs sorted, each part prefixed by its length, so that no two
// different sets have the same key whatever their characters.
func labelsKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	n := 0
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 8
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		for _, part := range [2]string{k, m[k]} {
			b.WriteString(strconv.Itoa(len(part)))
			b.WriteByte(':')
			b.WriteString(part)
		}
	}
	return b.String()
}
