package kube

//lint:file-ignore SA1019 v1 Endpoints are watched on purpose: Services without a selector list external addresses there.

import (
	"maps"
	"slices"
	"sync"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// objectIndex holds the Kubernetes objects of one cluster as the queue's handlers last saw them, and
// the model part converted from them. Conversion is adapters/k8s's, the same as for manifest files;
// it runs again only when a handler changed something, and then over the whole index, because an
// endpoint's labels and locality come from its Pod and Node, so a Pod or Node change reaches every
// endpoint that refers to it without reverse indexes.
type objectIndex struct {
	opts k8s.Options
	log  *zap.Logger

	mu        sync.Mutex
	services  map[string]*corev1.Service
	slices    map[string]*discoveryv1.EndpointSlice
	endpoints map[string]*corev1.Endpoints
	pods      map[string]*corev1.Pod
	nodes     map[string]*corev1.Node
	version   uint64 // counts changes
	dirty     bool   // changed since the registration was last told
	built     uint64 // the version part was converted from
	part      model.Part
}

func newObjectIndex(opts k8s.Options, log *zap.Logger) *objectIndex {
	return &objectIndex{
		opts:      opts,
		log:       log,
		services:  map[string]*corev1.Service{},
		slices:    map[string]*discoveryv1.EndpointSlice{},
		endpoints: map[string]*corev1.Endpoints{},
		pods:      map[string]*corev1.Pod{},
		nodes:     map[string]*corev1.Node{},
		built:     ^uint64(0),
	}
}

// set records the current state of one object (nil: it is gone) unless it makes no difference to
// the model. It reports whether the index changed.
func set[T metav1.Object](x *objectIndex, m map[string]T, key string, obj T, present bool, same func(a, b T) bool) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, had := m[key]
	switch {
	case !present && !had:
		return false
	case !present:
		delete(m, key)
	case had && same(old, obj):
		return false
	default:
		m[key] = obj
	}
	x.version++
	x.dirty = true
	return true
}

// takeDirty reports whether anything changed since the last call.
func (x *objectIndex) takeDirty() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	d := x.dirty
	x.dirty = false
	return d
}

// Part converts the index into the model, or returns the last conversion if nothing changed.
func (x *objectIndex) Part() model.Part {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.built == x.version {
		return x.part
	}
	objs := k8s.Objects{
		Services:       sortedValues(x.services),
		EndpointSlices: sortedValues(x.slices),
		Endpoints:      sortedValues(x.endpoints),
		Pods:           sortedValues(x.pods),
		Nodes:          sortedValues(x.nodes),
	}
	part := objs.Part(x.opts)
	x.logNewRejections(part.Rejections)
	x.part = part
	x.built = x.version
	return x.part
}

// logNewRejections warns about the objects (or items) conversion refused that it did not refuse the
// last time: every change converts the whole index again, and a standing refusal is in configz.
func (x *objectIndex) logNewRejections(rejections []model.Rejection) {
	before := make(map[model.Rejection]bool, len(x.part.Rejections))
	for _, r := range x.part.Rejections {
		before[r] = true
	}
	for _, r := range rejections {
		if !before[r] {
			x.log.Warn("object refused", zap.String("kind", string(r.Kind)), zap.String("namespace", r.Namespace),
				zap.String("name", r.Name), zap.String("reason", r.Reason))
		}
	}
}

// counts says how many services and endpoints the part holds, for logs.
func (x *objectIndex) counts() (services, endpoints int) {
	p := x.Part()
	return len(p.Services), len(p.Endpoints)
}

func sortedValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// sameVersion: the object did not change at all.
func sameVersion[T metav1.Object](a, b T) bool {
	return a.GetResourceVersion() == b.GetResourceVersion()
}

// samePod: conversion reads a Pod's labels only (subsets select on them); status churn is no news.
func samePod(a, b *corev1.Pod) bool { return maps.Equal(a.Labels, b.Labels) }

// sameNode: conversion reads a Node's topology labels only; heartbeats are no news.
func sameNode(a, b *corev1.Node) bool {
	for _, l := range []string{corev1.LabelTopologyRegion, corev1.LabelTopologyZone, "topology.istio.io/subzone"} {
		if a.Labels[l] != b.Labels[l] {
			return false
		}
	}
	return true
}
