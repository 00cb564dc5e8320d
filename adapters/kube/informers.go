package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/minipilot/minipilot/adapters/k8s"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// watched is the informers of one kind: one per watched namespace, or a single one for all namespaces
// (and for cluster-scoped kinds). Handlers look objects up here rather than trusting the event that
// queued the key, so they always act on the latest state.
type watched struct {
	kind      string
	informers map[string]cache.SharedIndexInformer // by namespace; "" watches all
	regs      []cache.ResourceEventHandlerRegistration
	// labels, for Pods, shares the labels maps of the Pods cached.
	labels *labelSets
}

func newWatched(kind string) *watched {
	return &watched{kind: kind, informers: map[string]cache.SharedIndexInformer{}}
}

// add registers an informer for a namespace ("" for all) and routes its events to q.
func (w *watched) add(namespace string, inf cache.SharedIndexInformer, q *queue) error {
	if err := inf.SetTransform(w.slim); err != nil {
		return fmt.Errorf("%s informer: %w", w.kind, err)
	}
	reg, err := inf.AddEventHandler(q.eventHandler(w.kind))
	if err != nil {
		return fmt.Errorf("%s informer: %w", w.kind, err)
	}
	w.informers[namespace] = inf
	w.regs = append(w.regs, reg)
	return nil
}

// get returns the cached object, or nil when it does not exist (any more).
func (w *watched) get(namespace, name string) (any, error) {
	inf := w.informers[namespace]
	if inf == nil {
		inf = w.informers[""]
	}
	if inf == nil {
		return nil, nil // a namespace not watched: as good as absent
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, err
	}
	return obj, nil
}

// keys lists the namespace/name of every cached object.
func (w *watched) keys() []Key {
	var out []Key
	for _, inf := range w.informers {
		for _, obj := range inf.GetStore().List() {
			if m, ok := obj.(metav1.Object); ok {
				out = append(out, Key{Kind: w.kind, Namespace: m.GetNamespace(), Name: m.GetName()})
			}
		}
	}
	return out
}

// hasSynced is true once the initial list of every informer has been handed to the queue.
func (w *watched) hasSynced() []cache.InformerSynced {
	out := make([]cache.InformerSynced, 0, len(w.regs))
	for _, r := range w.regs {
		out = append(out, r.HasSynced)
	}
	return out
}

// slim drops, before an object is cached, what nothing here reads: the managed fields of every
// object (often its bulk) and the copy of itself that `kubectl apply` keeps in an annotation (as big
// as the object), and of Pods, EndpointSlices and Nodes everything but what is read: a Pod is cached as the
// k8s.PodInfo conversion reads (its name, labels and IP; not its containers, nor its annotations: an
// injected sidecar's status alone is a kilobyte), a Node keeps its labels (its status lists every
// image it holds). Status is written with patches of the status subresource, so nothing dropped here
// is ever written back. A routing rule keeps its spec as JSON (storedRule).
func slim(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			delete(a, lastApplied) // the object is the informer's own, freshly decoded
			m.SetAnnotations(a)
		}
	}
	switch o := obj.(type) {
	case *unstructured.Unstructured: // a routing rule: the only kinds read unstructured
		return storeRule(o)
	case *corev1.Pod:
		return k8s.PodInfoOf(o), nil
	case *discoveryv1.EndpointSlice:
		slimEndpointSlice(o)
	case *corev1.Node:
		o.Annotations = nil
		o.Spec, o.Status = corev1.NodeSpec{}, corev1.NodeStatus{}
	}
	return obj, nil
}

// slim is the informers' transform: the package's slim, and for Pods a shared labels map.
func (w *watched) slim(obj any) (any, error) {
	_, slimmed := obj.(*k8s.PodInfo)
	out, err := slim(obj)
	if p, ok := out.(*k8s.PodInfo); ok && !slimmed && w.labels != nil {
		w.labels.share(p)
	}
	return out, err
}

// slimEndpointSlice keeps of a slice what conversion reads: its name, namespace, labels (the
// Service's name) and resource version, its address type and ports, and of each endpoint its
// addresses, readiness, node, zone and the name of its Pod. A mesh has a slice per hundred
// endpoints or so, and each endpoint's Pod reference carried its UID and resource version.
func slimEndpointSlice(es *discoveryv1.EndpointSlice) {
	es.ObjectMeta = metav1.ObjectMeta{Name: es.Name, Namespace: es.Namespace, Labels: es.Labels, ResourceVersion: es.ResourceVersion}
	for i := range es.Endpoints {
		e := &es.Endpoints[i]
		e.Conditions.Serving, e.Conditions.Terminating = nil, nil
		e.Hostname, e.Hints, e.DeprecatedTopology = nil, nil, nil
		if r := e.TargetRef; r != nil {
			*r = corev1.ObjectReference{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		}
	}
}

// lastApplied is the annotation in which `kubectl apply` keeps the object as it was applied.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// namespaces is the list of namespaces to watch: the given ones, or "" for all.
func namespaces(list []string) []string {
	if len(list) == 0 {
		return []string{metav1.NamespaceAll}
	}
	return list
}
