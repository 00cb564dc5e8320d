package kube

//lint:file-ignore SA1019 v1 Endpoints are watched on purpose: Services without a selector list external addresses there.

import (
	"maps"
	"sync"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// objectIndex holds the Kubernetes objects of one cluster as the queue's handlers last saw them, and
// their conversion into the model. Conversion is adapters/k8s's, the same as for manifest files, and
// incremental: a handler's change converts that object again and, for a Pod or a Node, the
// endpoints that read it; nothing else.
type objectIndex struct {
	log *zap.Logger

	mu        sync.Mutex
	services  map[string]*corev1.Service
	slices    map[string]*discoveryv1.EndpointSlice
	endpoints map[string]*corev1.Endpoints
	pods      map[string]*k8s.PodInfo
	nodes     map[string]*corev1.Node
	converted *k8s.Incremental
	dirty     bool // changed since the registration was last told
	part      model.Part
	partOf    uint64 // changes counts them; part is as of partOf
	changes   uint64
}

func newObjectIndex(opts k8s.Options, log *zap.Logger) *objectIndex {
	return &objectIndex{
		log:       log,
		services:  map[string]*corev1.Service{},
		slices:    map[string]*discoveryv1.EndpointSlice{},
		endpoints: map[string]*corev1.Endpoints{},
		pods:      map[string]*k8s.PodInfo{},
		nodes:     map[string]*corev1.Node{},
		converted: k8s.NewIncremental(opts),
		partOf:    ^uint64(0),
	}
}

// set records the current state of one object (nil: it is gone) unless it makes no difference to
// the model, and converts what the change reaches (convert). It reports whether the index changed.
func set[T metav1.Object](x *objectIndex, m map[string]T, key string, obj T, present bool, same func(a, b T) bool,
	convert func(key string, obj T)) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, had := m[key]
	switch {
	case !present && !had:
		return false
	case !present:
		delete(m, key)
		var gone T
		convert(key, gone)
	case had && same(old, obj):
		return false
	default:
		m[key] = obj
		convert(key, obj)
	}
	x.changes++
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

// Part is the index's model: what the handlers' changes converted, assembled.
func (x *objectIndex) Part() model.Part {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.partOf == x.changes {
		return x.part
	}
	part := x.converted.Part()
	x.logNewRejections(part.Rejections)
	x.part, x.partOf = part, x.changes
	return x.part
}

// logNewRejections warns about the objects (or items) conversion refused that it did not refuse the
// last time: a standing refusal is in configz, and is not logged again on every change.
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

// sameVersion: the object did not change at all.
func sameVersion[T metav1.Object](a, b T) bool {
	return a.GetResourceVersion() == b.GetResourceVersion()
}

// samePod: conversion reads a Pod's labels (subsets select on them) and checks its IP; other
// status churn is no news.
func samePod(a, b *k8s.PodInfo) bool {
	return maps.Equal(a.Labels, b.Labels) && a.IP == b.IP
}

// sameNode: conversion reads a Node's topology labels only; heartbeats are no news.
func sameNode(a, b *corev1.Node) bool {
	for _, l := range []string{corev1.LabelTopologyRegion, corev1.LabelTopologyZone, "topology.istio.io/subzone"} {
		if a.Labels[l] != b.Labels[l] {
			return false
		}
	}
	return true
}
