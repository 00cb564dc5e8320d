// Package k8s converts Kubernetes API objects (Services, EndpointSlices, Endpoints, Pods, Nodes and the
// networking.istio.io kinds) into the model. The file adapter and the Kubernetes adapter both use it, so
// a manifest means the same whether it is read from disk or watched in a cluster.
package k8s

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipilot/minipilot/model"
)

//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

// Objects is the Kubernetes state of one cluster (or one directory of manifests).
type Objects struct {
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Endpoints      []*corev1.Endpoints
	Pods           []*corev1.Pod
	Nodes          []*corev1.Node
}

// Options say how to name what is converted.
type Options struct {
	DomainSuffix string
	// Cluster is recorded on every service and endpoint, for multi-cluster meshes.
	Cluster string
	// SourceOf says where an object was read, for the Source of its rejections ("kube/<cluster>",
	// "file.yaml#2"); nil leaves it empty.
	SourceOf func(kind, namespace, name string) string
}

// The kinds of the core objects, as rejections name them.
const (
	KindService       model.Kind = "Service"
	KindEndpointSlice model.Kind = "EndpointSlice"
	KindEndpoints     model.Kind = "Endpoints"
	KindPod           model.Kind = "Pod"
	KindNode          model.Kind = "Node"
)

// Part converts the objects into the model. A service's endpoints come from its EndpointSlices; a
// service with none (a service without a selector, with hand-written Endpoints pointing at external
// addresses) takes them from its v1 Endpoints instead, as the EndpointSlice mirroring controller would.
//
// Objects are checked as the API server checks them (see Service, endpointSlice, endpoints). What
// fails is left out, the whole object or only the bad item in it, and listed in Rejections with the
// field and the reason. A panic while converting one object (a bug: an input no check foresaw)
// leaves that object out the same way, rather than taking every service down with it.
func (o Objects) Part(opts Options) model.Part {
	c := &converter{opts: opts}
	pods := c.indexPods(o.Pods)
	nodes := c.indexNodes(o.Nodes)
	hasSlices := map[string]bool{}
	for _, es := range o.EndpointSlices {
		if es != nil && es.Labels[discoveryv1.LabelServiceName] != "" {
			hasSlices[es.Namespace+"/"+es.Labels[discoveryv1.LabelServiceName]] = true
		}
	}
	for _, svc := range o.Services {
		c.guard(KindService, svc, func() {
			s, ps := Service(svc, opts)
			c.report(KindService, svc, ps, s == nil, "")
			if s != nil {
				c.part.Services = append(c.part.Services, s)
			}
		})
	}
	for _, es := range o.EndpointSlices {
		c.guard(KindEndpointSlice, es, func() {
			eps, ps, ok := endpointSlice(es, pods, nodes, opts)
			c.report(KindEndpointSlice, es, ps, !ok, "")
			c.part.Endpoints = append(c.part.Endpoints, eps...)
		})
	}
	for _, ep := range o.Endpoints {
		if ep == nil || hasSlices[ep.Namespace+"/"+ep.Name] {
			continue
		}
		c.guard(KindEndpoints, ep, func() {
			eps, ps, ok := endpoints(ep, pods, nodes, opts)
			c.report(KindEndpoints, ep, ps, !ok, "")
			c.part.Endpoints = append(c.part.Endpoints, eps...)
		})
	}
	slices.SortFunc(c.part.Services, func(a, b *model.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	return model.CheckPart(c.part)
}

// converter collects the part and the rejections of one conversion.
type converter struct {
	opts Options
	part model.Part
}

// guard runs the conversion of one object, which appends to the part only as its last step, so a
// panic leaves nothing of the object behind but its rejection.
func (c *converter) guard(kind model.Kind, obj metav1.Object, convert func()) {
	if isNil(obj) {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.reject(kind, obj, fmt.Sprintf("converting it failed, which is a bug in minipilot (please report it): panic: %v; the %s is left out", r, kind))
		}
	}()
	convert()
}

// report records an object's problems: whole says the object itself was left out; effect says what
// that costs beyond it.
func (c *converter) report(kind model.Kind, obj metav1.Object, ps problems, whole bool, effect string) {
	switch {
	case whole:
		c.reject(kind, obj, fmt.Sprintf("the %s is left out%s: %s", kind, effect, ps.reason()))
	case len(ps) > 0:
		c.reject(kind, obj, ps.reason())
	}
}

func (c *converter) reject(kind model.Kind, obj metav1.Object, reason string) {
	meta := model.Meta{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	if c.opts.SourceOf != nil {
		meta.Source = c.opts.SourceOf(string(kind), meta.Namespace, meta.Name)
	}
	c.part.Rejections = append(c.part.Rejections, model.Rejection{Meta: meta, Reason: reason})
}

// NodeLookup finds a Node by name; nil when unknown.
type NodeLookup func(name string) *corev1.Node

// indexNodes indexes the Nodes endpoints take their locality from; a Node with a bad name or labels
// is left out, so endpoints on it have no locality from it.
func (c *converter) indexNodes(nodes []*corev1.Node) NodeLookup {
	m := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		if c.checkNode(n) {
			m[n.Name] = n
		}
	}
	return func(name string) *corev1.Node { return m[name] }
}

// checkNode checks what endpoints read of a Node.
func (c *converter) checkNode(n *corev1.Node) (ok bool) {
	c.guard(KindNode, n, func() {
		var ps problems
		ok = ps.name("metadata.name", n.Name, "Node name", validation.IsDNS1123Subdomain, "")
		ok = ps.labels("metadata.labels", n.Labels) && ok
		c.report(KindNode, n, ps, !ok, " (the endpoints on it get no locality from it)")
	})
	return ok
}

// isNil says whether an object is a typed nil pointer (a list may hold one; it names nothing).
func isNil(obj metav1.Object) bool {
	switch o := obj.(type) {
	case *corev1.Service:
		return o == nil
	case *discoveryv1.EndpointSlice:
		return o == nil
	case *corev1.Endpoints:
		return o == nil
	case *corev1.Pod:
		return o == nil
	case *PodInfo:
		return o == nil
	case *corev1.Node:
		return o == nil
	}
	return obj == nil
}
