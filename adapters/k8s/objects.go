// Package k8s converts Kubernetes API objects (Services, EndpointSlices, Endpoints, Pods, Nodes and the
// networking.istio.io kinds) into the model. The file adapter and the Kubernetes adapter both use it, so
// a manifest means the same whether it is read from disk or watched in a cluster.
package k8s

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

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
}

// Part converts the objects into the model. A service's endpoints come from its EndpointSlices; a
// service with none (a service without a selector, with hand-written Endpoints pointing at external
// addresses) takes them from its v1 Endpoints instead, as the EndpointSlice mirroring controller would.
func (o Objects) Part(opts Options) model.Part {
	var part model.Part
	pods := indexPods(o.Pods)
	nodes := indexNodes(o.Nodes)
	hasSlices := map[string]bool{}
	for _, es := range o.EndpointSlices {
		if svc := es.Labels[discoveryv1.LabelServiceName]; svc != "" {
			hasSlices[es.Namespace+"/"+svc] = true
		}
	}
	for _, svc := range o.Services {
		part.Services = append(part.Services, Service(svc, opts))
	}
	for _, es := range o.EndpointSlices {
		part.Endpoints = append(part.Endpoints, EndpointSlice(es, pods, nodes, opts)...)
	}
	for _, ep := range o.Endpoints {
		if !hasSlices[ep.Namespace+"/"+ep.Name] {
			part.Endpoints = append(part.Endpoints, Endpoints(ep, pods, nodes, opts)...)
		}
	}
	slices.SortFunc(part.Services, func(a, b *model.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	return part
}

// PodLookup finds a Pod by namespace and name; nil when unknown.
type PodLookup func(namespace, name string) *corev1.Pod

// NodeLookup finds a Node by name; nil when unknown.
type NodeLookup func(name string) *corev1.Node

func indexPods(pods []*corev1.Pod) PodLookup {
	m := make(map[string]*corev1.Pod, len(pods))
	for _, p := range pods {
		m[p.Namespace+"/"+p.Name] = p
	}
	return func(ns, name string) *corev1.Pod { return m[ns+"/"+name] }
}

func indexNodes(nodes []*corev1.Node) NodeLookup {
	m := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		m[n.Name] = n
	}
	return func(name string) *corev1.Node { return m[name] }
}
