//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

package k8s

import (
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/model"
)

// Incremental is Objects.Part for objects that change one at a time, as a watch reports them: it
// converts again only what a change reaches — the object itself and, for a Pod or a Node, the
// EndpointSlices and Endpoints that read it (or read its absence) — and assembles the part from the
// conversions it keeps. An endpoint flapping in a mesh of thousands converts one slice, not every
// Pod, slice and Service again. Its Part equals Objects.Part of the same objects (tested).
//
// It is not safe for concurrent use.
type Incremental struct {
	opts Options

	services  map[string]*convertedObject[*corev1.Service]
	slices    map[string]*convertedObject[*discoveryv1.EndpointSlice]
	endpoints map[string]*convertedObject[*corev1.Endpoints]
	pods      map[string]podState
	nodes     map[string]*convertedObject[*corev1.Node]

	// readers: which endpoint objects (by refKey) read a Pod ("ns/name") or a Node (name), so that a
	// change to one converts exactly those again. A Pod has one or two (the Services selecting it):
	// a list each, not a set, as there are many Pods. A Node has every slice with an endpoint on it.
	podReaders  map[string][]refKey
	nodeReaders map[string]map[refKey]bool
	// slicesOf counts each Service's slices: a Service with any takes its endpoints from them, not
	// from its v1 Endpoints.
	slicesOf map[string]int

	part  model.Part
	dirty bool
}

// refKey names an endpoint object: an EndpointSlice or Endpoints by "ns/name".
type refKey struct {
	slice bool
	key   string
}

// podState is a Pod as endpoints read it: kept by value, as there are many.
type podState struct {
	pod        *PodInfo
	valid      bool // it passed its checks, so endpoints may read it
	rejections []model.Rejection
}

// convertedObject is an object and what converting it gave.
type convertedObject[T metav1.Object] struct {
	obj        T
	services   []*model.Service
	endpoints  []*model.Endpoint
	rejections []model.Rejection
	// valid: a Node passed its checks, so endpoints may read it.
	valid bool
	// reads are the Pods and Nodes an endpoint object's conversion looked up.
	pods, nodes []string
}

// NewIncremental starts from no objects.
func NewIncremental(opts Options) *Incremental {
	return &Incremental{
		opts:        opts,
		services:    map[string]*convertedObject[*corev1.Service]{},
		slices:      map[string]*convertedObject[*discoveryv1.EndpointSlice]{},
		endpoints:   map[string]*convertedObject[*corev1.Endpoints]{},
		pods:        map[string]podState{},
		nodes:       map[string]*convertedObject[*corev1.Node]{},
		podReaders:  map[string][]refKey{},
		nodeReaders: map[string]map[refKey]bool{},
		slicesOf:    map[string]int{},
		dirty:       true,
	}
}

// SetService records a Service's current state; nil (or a typed nil) removes the one keyed key.
func (x *Incremental) SetService(key string, svc *corev1.Service) {
	x.dirty = true
	if svc == nil {
		delete(x.services, key)
		return
	}
	c := &converter{opts: x.opts}
	var out []*model.Service
	c.guard(KindService, svc, func() {
		s, ps := Service(svc, x.opts)
		c.report(KindService, svc, ps, s == nil, "")
		if s != nil {
			out = []*model.Service{s}
		}
	})
	x.services[key] = &convertedObject[*corev1.Service]{obj: svc, services: out, rejections: c.part.Rejections}
}

// SetEndpointSlice records an EndpointSlice's current state; nil removes it.
func (x *Incremental) SetEndpointSlice(key string, es *discoveryv1.EndpointSlice) {
	x.dirty = true
	if old := x.slices[key]; old != nil {
		x.slicesOf[sliceService(old.obj)]--
		x.forget(refKey{slice: true, key: key}, old.pods, old.nodes)
		delete(x.slices, key)
	}
	if es == nil {
		return
	}
	x.slicesOf[sliceService(es)]++
	x.slices[key] = convertEndpoints(x, refKey{slice: true, key: key}, KindEndpointSlice, es, endpointSlice)
}

// SetEndpoints records a v1 Endpoints object's current state; nil removes it.
func (x *Incremental) SetEndpoints(key string, ep *corev1.Endpoints) {
	x.dirty = true
	if old := x.endpoints[key]; old != nil {
		x.forget(refKey{key: key}, old.pods, old.nodes)
		delete(x.endpoints, key)
	}
	if ep == nil {
		return
	}
	x.endpoints[key] = convertEndpoints(x, refKey{key: key}, KindEndpoints, ep, endpoints)
}

// SetPod records a Pod's current state; nil removes it. The endpoints that refer to it are
// converted again.
func (x *Incremental) SetPod(key string, pod *PodInfo) {
	x.dirty = true
	if pod == nil {
		delete(x.pods, key)
	} else {
		c := &converter{opts: x.opts}
		valid := c.checkPod(pod)
		x.pods[key] = podState{pod: pod, valid: valid, rejections: c.part.Rejections}
	}
	x.reconvert(x.podReaders[key])
}

// SetNode records a Node's current state; nil removes it. The endpoints on it are converted again.
func (x *Incremental) SetNode(name string, node *corev1.Node) {
	x.dirty = true
	if node == nil {
		delete(x.nodes, name)
	} else {
		c := &converter{opts: x.opts}
		valid := c.checkNode(node)
		x.nodes[name] = &convertedObject[*corev1.Node]{obj: node, valid: valid, rejections: c.part.Rejections}
	}
	x.reconvert(slices.Collect(maps.Keys(x.nodeReaders[name])))
}

// convertEndpoints converts an EndpointSlice or Endpoints, recording the Pods and Nodes it read.
func convertEndpoints[T metav1.Object](x *Incremental, ref refKey, kind model.Kind, obj T,
	convert func(T, PodLookup, NodeLookup, Options) ([]*model.Endpoint, problems, bool)) *convertedObject[T] {
	out := &convertedObject[T]{obj: obj}
	pods := func(ns, name string) *PodInfo {
		key := ns + "/" + name
		out.pods = append(out.pods, key)
		if p := x.pods[key]; p.valid {
			return p.pod
		}
		return nil
	}
	nodes := func(name string) *corev1.Node {
		out.nodes = append(out.nodes, name)
		if n := x.nodes[name]; n != nil && n.valid {
			return n.obj
		}
		return nil
	}
	c := &converter{opts: x.opts}
	c.guard(kind, obj, func() {
		eps, ps, ok := convert(obj, pods, nodes, x.opts)
		c.report(kind, obj, ps, !ok, "")
		out.endpoints = eps
	})
	out.rejections = c.part.Rejections
	for _, p := range out.pods {
		addReader(x.podReaders, p, ref)
	}
	for _, n := range out.nodes {
		if x.nodeReaders[n] == nil {
			x.nodeReaders[n] = map[refKey]bool{}
		}
		x.nodeReaders[n][ref] = true
	}
	return out
}

// reconvert converts again the endpoint objects that read a changed Pod or Node.
func (x *Incremental) reconvert(readers []refKey) {
	for _, ref := range slices.Clone(readers) {
		if ref.slice {
			if old := x.slices[ref.key]; old != nil {
				x.SetEndpointSlice(ref.key, old.obj)
			}
		} else if old := x.endpoints[ref.key]; old != nil {
			x.SetEndpoints(ref.key, old.obj)
		}
	}
}

// forget drops an endpoint object from the readers of what it read.
func (x *Incremental) forget(ref refKey, pods, nodes []string) {
	for _, p := range pods {
		dropReader(x.podReaders, p, ref)
	}
	for _, n := range nodes {
		delete(x.nodeReaders[n], ref)
		if len(x.nodeReaders[n]) == 0 {
			delete(x.nodeReaders, n)
		}
	}
}

func addReader(m map[string][]refKey, key string, ref refKey) {
	if !slices.Contains(m[key], ref) {
		m[key] = append(m[key], ref)
	}
}

func dropReader(m map[string][]refKey, key string, ref refKey) {
	readers := slices.DeleteFunc(m[key], func(r refKey) bool { return r == ref })
	if len(readers) == 0 {
		delete(m, key)
	} else {
		m[key] = readers
	}
}

// sliceService is "namespace/service" of the Service a slice belongs to ("" for none).
func sliceService(es *discoveryv1.EndpointSlice) string {
	if es.Labels[discoveryv1.LabelServiceName] == "" {
		return ""
	}
	return es.Namespace + "/" + es.Labels[discoveryv1.LabelServiceName]
}

// Part assembles the model from the conversions, in Objects.Part's order, and checks it as the
// store would. Nothing is converted here; with no change since the last call it returns that part.
func (x *Incremental) Part() model.Part {
	if !x.dirty {
		return x.part
	}
	var p model.Part
	p.Rejections = append(rejectedIn(x.pods, func(p podState) []model.Rejection { return p.rejections }),
		rejectedIn(x.nodes, func(n *convertedObject[*corev1.Node]) []model.Rejection { return n.rejections })...)
	for _, k := range slices.Sorted(maps.Keys(x.services)) {
		s := x.services[k]
		p.Services = append(p.Services, s.services...)
		p.Rejections = append(p.Rejections, s.rejections...)
	}
	for _, k := range slices.Sorted(maps.Keys(x.slices)) {
		s := x.slices[k]
		p.Endpoints = append(p.Endpoints, s.endpoints...)
		p.Rejections = append(p.Rejections, s.rejections...)
	}
	for _, k := range slices.Sorted(maps.Keys(x.endpoints)) {
		if x.slicesOf[k] > 0 {
			continue // the Service has slices: they are its endpoints
		}
		e := x.endpoints[k]
		p.Endpoints = append(p.Endpoints, e.endpoints...)
		p.Rejections = append(p.Rejections, e.rejections...)
	}
	slices.SortFunc(p.Services, func(a, b *model.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	x.part, x.dirty = model.CheckPart(p), false
	return x.part
}

// rejectedIn lists the rejections of the objects in m, in key order. Pods are many and seldom
// refused: only the refused ones are sorted.
func rejectedIn[V any](m map[string]V, rejections func(V) []model.Rejection) []model.Rejection {
	var keys []string
	for k, o := range m {
		if len(rejections(o)) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []model.Rejection
	for _, k := range keys {
		out = append(out, rejections(m[k])...)
	}
	return out
}
