package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// ConfigVersion is the version of networking.istio.io the controller watches; the API server
// converts objects written in the other served versions (they share one schema).
const ConfigVersion = "v1"

// ConfigResources maps each routing kind to its resource.
var ConfigResources = map[model.Kind]schema.GroupVersionResource{
	model.KindVirtualService:  {Group: k8s.IstioGroup, Version: ConfigVersion, Resource: "virtualservices"},
	model.KindDestinationRule: {Group: k8s.IstioGroup, Version: ConfigVersion, Resource: "destinationrules"},
	model.KindServiceEntry:    {Group: k8s.IstioGroup, Version: ConfigVersion, Resource: "serviceentries"},
	model.KindGateway:         {Group: k8s.IstioGroup, Version: ConfigVersion, Resource: "gateways"},
	model.KindSidecar:         {Group: k8s.IstioGroup, Version: ConfigVersion, Resource: "sidecars"},
}

// ConfigController is the model source for the routing CRDs of one cluster. A rule that fails
// decoding or validation is not applied: its last valid version stays in force, as with manifest
// files, and it is listed as a model.Rejection. When StatusWriter is set (and this replica leads),
// each object's status says whether it was reconciled, and a refusal raises an Event.
type ConfigController struct {
	opts      Options
	queue     *queue
	factories []dynamicinformer.DynamicSharedInformerFactory
	kinds     map[string]*watched
	status    *StatusWriter // nil: never write status
	// decodeConfig is k8s.DecodeConfig; tests put a crasher in its place.
	decodeConfig func(model.Meta, json.RawMessage) (model.Config, []validation.Problem, error)

	mu      sync.Mutex
	entries map[Key]*configEntry
	dirty   bool

	reg *model.Registration
}

// configEntry is what the controller made of one object.
type configEntry struct {
	uid        types.UID
	generation int64        // the generation last decoded
	inForce    model.Config // the last valid version; nil if none was ever valid
	rejection  *model.Rejection
}

// NewConfigController sets up dynamic informers for the routing kinds. status may be nil.
func NewConfigController(client dynamic.Interface, status *StatusWriter, opts Options) (*ConfigController, error) {
	opts = opts.withDefaults("kube-config")
	c := &ConfigController{
		opts:    opts,
		queue:   newQueue("kube-config-"+opts.Cluster, opts.Clock, opts.Log),
		kinds:   map[string]*watched{},
		status:  status,
		entries: map[Key]*configEntry{},

		decodeConfig: k8s.DecodeConfig,
	}
	for kind := range ConfigResources {
		c.kinds[string(kind)] = newWatched(string(kind))
	}
	for _, ns := range namespaces(opts.Namespaces) {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(client, 0, ns, nil)
		c.factories = append(c.factories, f)
		for kind, gvr := range ConfigResources {
			if err := c.kinds[string(kind)].add(ns, f.ForResource(gvr).Informer(), c.queue); err != nil {
				return nil, err
			}
		}
	}
	c.queue.handlers = []Handler{c.decode, c.notify}
	if status != nil {
		c.queue.handlers = append(c.queue.handlers, c.writeStatus)
		status.onLeading(c.recheckAll)
	}
	return c, nil
}

// Run watches the routing kinds until ctx ends; like the platform adapter, it reports the
// registration synced only once the initial list has gone through the queue.
func (c *ConfigController) Run(ctx context.Context, reg *model.Registration) error {
	c.reg = reg
	began := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.queue.run(ctx) })
	for _, f := range c.factories {
		f.Start(ctx.Done())
	}
	defer func() {
		for _, f := range c.factories {
			f.Shutdown()
		}
	}()
	var synced []cache.InformerSynced
	for _, w := range c.kinds {
		synced = append(synced, w.hasSynced()...)
	}
	c.opts.Log.Info("waiting for the routing rules to sync", zap.Strings("namespaces", c.opts.Namespaces))
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	c.queue.afterQueued("initial-list", func() {
		p := c.Part()
		c.opts.Log.Info("synced", zap.Int("virtualServices", len(p.VirtualServices)),
			zap.Int("destinationRules", len(p.DestinationRules)), zap.Int("serviceEntries", len(p.ServiceEntries)),
			zap.Int("gateways", len(p.Gateways)), zap.Int("sidecars", len(p.Sidecars)), zap.Int("rejected", len(p.Rejections)), zap.Duration("took", time.Since(began)))
		reg.Synced()
	})
	<-ctx.Done()
	return nil
}

// Part is the rules in force and the rejections.
func (c *ConfigController) Part() model.Part {
	c.mu.Lock()
	defer c.mu.Unlock()
	var part model.Part
	for _, k := range slices.SortedFunc(maps.Keys(c.entries), compareKeys) {
		e := c.entries[k]
		if e.inForce != nil {
			part.Add(e.inForce)
		}
		if e.rejection != nil {
			part.Rejections = append(part.Rejections, *e.rejection)
		}
	}
	return part
}

// decode is the first link: it decodes and validates the object's spec and records the outcome.
func (c *ConfigController) decode(_ context.Context, key Key) error {
	obj, err := c.kinds[key.Kind].get(key.Namespace, key.Name)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", key, err)
	}
	r := ruleOf(obj)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if r == nil {
		if e != nil {
			delete(c.entries, key)
			c.dirty = true
			c.opts.Log.Info("rule deleted", zap.Stringer("key", key))
		}
		return nil
	}
	u := r.Unstructured
	if e != nil && e.uid == u.GetUID() && e.generation == u.GetGeneration() {
		return nil // only status or metadata changed (our own status write, most often)
	}
	if e == nil || e.uid != u.GetUID() {
		e = &configEntry{uid: u.GetUID()} // a new object: nothing of an earlier one with its name stays
		c.entries[key] = e
	}
	meta := model.Meta{
		Kind: model.Kind(key.Kind), Name: key.Name, Namespace: key.Namespace, Source: "kube/" + c.opts.Cluster,
		ResourceVersion: u.GetResourceVersion(), Generation: u.GetGeneration(),
		CreationTimestamp: u.GetCreationTimestamp().Time,
	}
	cfg, warnings, err := c.decodeSafely(meta, r.spec)
	e.generation = u.GetGeneration()
	c.dirty = true
	for _, w := range warnings {
		c.opts.Log.Info("rule warning", zap.Stringer("key", key), zap.String("warning", w.String()))
	}
	if err != nil {
		e.rejection = &model.Rejection{Meta: meta, Reason: err.Error()}
		c.opts.Log.Warn("rule rejected; its last valid version stays in force", zap.Stringer("key", key),
			zap.Int64("generation", meta.Generation), zap.Bool("hasValidVersion", e.inForce != nil), zap.Error(err))
		return nil
	}
	e.inForce, e.rejection = cfg, nil
	c.opts.Log.Info("rule accepted", zap.Stringer("key", key), zap.Int64("generation", meta.Generation))
	return nil
}

// decodeSafely is DecodeConfig, except that a panic in it (a bug: an input the validator did not
// foresee) refuses the object like an invalid spec, with the panic as the reason: its last valid
// version stays in force, and its status and a Warning Event say why.
func (c *ConfigController) decodeSafely(meta model.Meta, spec json.RawMessage) (cfg model.Config, warnings []validation.Problem, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.opts.Log.Error("validating a rule panicked; it is refused", zap.String("kind", string(meta.Kind)),
				zap.String("namespace", meta.Namespace), zap.String("name", meta.Name),
				zap.String("panic", fmt.Sprint(r)), zap.ByteString("stack", debug.Stack()))
			cfg, warnings, err = nil, nil, fmt.Errorf("validating it failed, which is a bug in minipilot (please report it): panic: %v", r)
		}
	}()
	return c.decodeConfig(meta, spec)
}

// notify tells the store when decode changed the part.
func (c *ConfigController) notify(context.Context, Key) error {
	c.mu.Lock()
	d := c.dirty
	c.dirty = false
	c.mu.Unlock()
	if d {
		c.reg.Changed()
	}
	return nil
}

// verdict is what the status of an object should say about its current generation.
func (c *ConfigController) verdict(key Key) (entry configEntry, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return configEntry{}, false
	}
	return *e, true
}

// writeStatus is the last link: the leader records the verdict in the object's status.
func (c *ConfigController) writeStatus(ctx context.Context, key Key) error {
	obj, err := c.kinds[key.Kind].get(key.Namespace, key.Name)
	r := ruleOf(obj)
	if err != nil || r == nil {
		return err
	}
	e, ok := c.verdict(key)
	if !ok {
		return nil
	}
	return c.status.write(ctx, ConfigResources[model.Kind(key.Kind)], r.Unstructured, e)
}

// recheckAll queues every object again, so that a replica that has just become leader brings the
// status of each up to date (writing only where it is stale).
func (c *ConfigController) recheckAll() {
	for _, w := range c.kinds {
		for _, k := range w.keys() {
			c.queue.add(k)
		}
	}
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
