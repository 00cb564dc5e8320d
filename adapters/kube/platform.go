package kube

//lint:file-ignore SA1019 v1 Endpoints are watched on purpose: Services without a selector list external addresses there.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// The kinds the platform adapter watches, as they appear in queue keys.
const (
	kindService       = "Service"
	kindEndpointSlice = "EndpointSlice"
	kindEndpoints     = "Endpoints"
	kindPod           = "Pod"
	kindNode          = "Node"
)

// Platform is the Kubernetes platform adapter of one cluster: Services, EndpointSlices, Endpoints
// (for selector-less Services pointing at external addresses), Pods (labels for subsets) and Nodes
// (locality) from shared informers, through a work queue, into a model source.
type Platform struct {
	opts      Options
	queue     *queue
	factories []informers.SharedInformerFactory
	kinds     map[string]*watched
	index     *objectIndex

	// reg is set by Run before the queue's worker starts.
	reg *model.Registration
	// handled is called after each key; tests use it to slow the chain down.
	handled func(Key)
}

// NewPlatform sets up the informers of a cluster. Nothing is listed or watched until Run.
func NewPlatform(client kubernetes.Interface, opts Options) (*Platform, error) {
	opts = opts.withDefaults("kube")
	p := &Platform{
		opts:  opts,
		queue: newQueue("kube-"+opts.Cluster, opts.Clock, opts.Log),
		kinds: map[string]*watched{},
		index: newObjectIndex(k8s.Options{DomainSuffix: opts.DomainSuffix, Cluster: opts.Cluster,
			SourceOf: func(string, string, string) string { return "kube/" + opts.Cluster }}, opts.Log),
	}
	for _, k := range []string{kindService, kindEndpointSlice, kindEndpoints, kindPod, kindNode} {
		p.kinds[k] = newWatched(k)
	}
	p.kinds[kindPod].labels = newLabelSets() // one table for the Pods of every namespace
	for _, ns := range namespaces(opts.Namespaces) {
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
		p.factories = append(p.factories, f)
		for kind, inf := range map[string]cache.SharedIndexInformer{
			kindService:       f.Core().V1().Services().Informer(),
			kindEndpointSlice: f.Discovery().V1().EndpointSlices().Informer(),
			kindEndpoints:     f.Core().V1().Endpoints().Informer(),
			kindPod:           f.Core().V1().Pods().Informer(),
		} {
			if err := p.kinds[kind].add(ns, inf, p.queue); err != nil {
				return nil, err
			}
		}
	}
	nodes := informers.NewSharedInformerFactory(client, 0) // Nodes are cluster-scoped
	p.factories = append(p.factories, nodes)
	if err := p.kinds[kindNode].add("", nodes.Core().V1().Nodes().Informer(), p.queue); err != nil {
		return nil, err
	}
	p.queue.handlers = []Handler{p.update, p.notify}
	return p, nil
}

// Part is the cluster's services and endpoints as the handlers last recorded them.
func (p *Platform) Part() model.Part { return p.index.Part() }

// Run lists and watches the cluster until ctx ends. It reports the registration synced only once the
// informer caches have synced and the queue has handled the whole initial list, so the first snapshot
// already holds every service and endpoint: a proxy connecting during startup never gets a partial view.
func (p *Platform) Run(ctx context.Context, reg *model.Registration) error {
	p.reg = reg
	began := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { p.queue.run(ctx) })
	for _, f := range p.factories {
		f.Start(ctx.Done())
	}
	defer func() {
		for _, f := range p.factories {
			f.Shutdown()
		}
	}()
	var synced []cache.InformerSynced
	for _, w := range p.kinds {
		synced = append(synced, w.hasSynced()...)
	}
	p.opts.Log.Info("waiting for the informer caches to sync", zap.Strings("namespaces", p.opts.Namespaces))
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // ctx ended first
	}
	p.queue.afterQueued("initial-list", func() {
		services, endpoints := p.index.counts()
		p.opts.Log.Info("synced", zap.Int("services", services), zap.Int("endpoints", endpoints),
			zap.Duration("took", time.Since(began)))
		reg.Synced()
	})
	<-ctx.Done()
	return nil
}

// update is the first link of the chain: it brings the index up to date with the informer cache.
func (p *Platform) update(_ context.Context, key Key) error {
	w := p.kinds[key.Kind]
	if w == nil {
		return fmt.Errorf("no informer for kind %q", key.Kind)
	}
	obj, err := w.get(key.Namespace, key.Name)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", key, err)
	}
	id := key.Namespace + "/" + key.Name
	var changed bool
	switch key.Kind {
	case kindService:
		o, ok := obj.(*corev1.Service)
		changed = set(p.index, p.index.services, id, o, ok, sameVersion, p.index.converted.SetService)
	case kindEndpointSlice:
		o, ok := obj.(*discoveryv1.EndpointSlice)
		changed = set(p.index, p.index.slices, id, o, ok, sameVersion, p.index.converted.SetEndpointSlice)
	case kindEndpoints:
		o, ok := obj.(*corev1.Endpoints)
		changed = set(p.index, p.index.endpoints, id, o, ok, sameVersion, p.index.converted.SetEndpoints)
	case kindPod:
		o, ok := obj.(*k8s.PodInfo)
		changed = set(p.index, p.index.pods, id, o, ok, samePod, p.index.converted.SetPod)
	case kindNode:
		o, ok := obj.(*corev1.Node)
		changed = set(p.index, p.index.nodes, key.Name, o, ok, sameNode, p.index.converted.SetNode)
	}
	if changed {
		p.opts.Log.Debug("object changed", zap.Stringer("key", key), zap.Bool("deleted", obj == nil))
	}
	if p.handled != nil {
		p.handled(key)
	}
	return nil
}

// notify is the last link: it tells the store, which pulls the new part when it next builds a snapshot.
func (p *Platform) notify(context.Context, Key) error {
	if p.index.takeDirty() {
		p.reg.Changed()
	}
	return nil
}
