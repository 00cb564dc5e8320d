package kube

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/k8s"
)

func podWithLabels(name string, labels map[string]string) *k8s.PodInfo {
	return &k8s.PodInfo{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}}
}

func sameMap(a, b map[string]string) bool { return fmt.Sprintf("%p", a) == fmt.Sprintf("%p", b) }

func TestLabelSetsShareEqualSets(t *testing.T) {
	s := newLabelSets()
	a := podWithLabels("a", map[string]string{"app": "reviews", "version": "v1"})
	b := podWithLabels("b", map[string]string{"version": "v1", "app": "reviews"})
	c := podWithLabels("c", map[string]string{"app": "reviews", "version": "v2"})
	// Parts are length-prefixed: pairs that concatenate alike are still different sets.
	d := podWithLabels("d", map[string]string{"a": "b=c"})
	e := podWithLabels("e", map[string]string{"a=b": "c"})
	none := podWithLabels("none", nil)
	for _, p := range []*k8s.PodInfo{a, b, c, d, e, none} {
		s.share(p)
	}
	if !sameMap(a.Labels, b.Labels) {
		t.Error("equal label sets were not shared")
	}
	if sameMap(a.Labels, c.Labels) || c.Labels["version"] != "v2" {
		t.Errorf("different label sets were shared: %v", c.Labels)
	}
	if d.Labels["a"] != "b=c" || e.Labels["a=b"] != "c" || none.Labels != nil {
		t.Errorf("sets were confused: %v %v %v", d.Labels, e.Labels, none.Labels)
	}
	if n := s.size(); n != 4 {
		t.Errorf("the table keeps %d sets, want 4", n)
	}
	runtime.KeepAlive([]*k8s.PodInfo{a, b, c, d, e})
}

// A set goes when the last Pod holding it is collected: a stream of rollouts, each with a new
// pod-template-hash, leaves only the sets of the Pods still cached.
func TestLabelSetsForgetSetsNoPodHolds(t *testing.T) {
	s := newLabelSets()
	steady := podWithLabels("steady", map[string]string{"app": "steady"})
	s.share(steady)
	for i := range 1000 {
		s.share(podWithLabels(fmt.Sprint("rolling-", i), map[string]string{"app": "rolling", "pod-template-hash": fmt.Sprint(i)}))
	}
	// Cleanups run on their own goroutine after a collection: collect until they have run.
	for i := 0; i < 100 && s.size() > 1; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := s.size(); n != 1 {
		t.Fatalf("the table keeps %d sets once only one Pod is reachable, want 1", n)
	}
	again := podWithLabels("again", map[string]string{"app": "steady"})
	s.share(again)
	if !sameMap(again.Labels, steady.Labels) {
		t.Error("a set still held was forgotten")
	}
	runtime.KeepAlive(steady)
}

// The Pod informer's transform caches replicas with one labels map.
func TestPodTransformSharesLabels(t *testing.T) {
	w := newWatched(kindPod)
	w.labels = newLabelSets()
	var cached []*k8s.PodInfo
	for _, name := range []string{"reviews-v1-a", "reviews-v1-b"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			Labels: map[string]string{"app": "reviews", "pod-template-hash": "5f7c"}}}
		out, err := w.slim(pod)
		if err != nil {
			t.Fatal(err)
		}
		cached = append(cached, out.(*k8s.PodInfo))
	}
	if !sameMap(cached[0].Labels, cached[1].Labels) {
		t.Error("replicas' labels were cached as two maps")
	}
	if again, err := w.slim(cached[0]); err != nil || again != cached[0] || w.labels.sets[labelsKey(cached[0].Labels)].users != 2 {
		t.Errorf("a cached Pod was taken again: %v", err)
	}
}
