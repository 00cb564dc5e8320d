package file

import (
	"fmt"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// kubeObjects converts the core objects in force (Services, EndpointSlices, Endpoints, Pods,
// Nodes) incrementally: an edit to one file converts the objects whose definition changed (and the
// endpoints that read a changed Pod or Node), not the whole directory again.
type kubeObjects struct {
	converted *k8s.Incremental
	objs      map[string]*object // by key, as last given to converted
	// sources is where each object in force was read, for the Source of a rejection; conversion
	// looks it up when it runs.
	sources map[string]string
}

// update brings the conversion to objs (by key) and returns the converted part. Objects are
// compared by identity: a file that did not change keeps its parsed objects.
func (k *kubeObjects) update(objs map[string]*object, opts k8s.Options) (part model.Part, err error) {
	defer func() {
		if r := recover(); r != nil {
			k.converted = nil // start again from scratch next time
			err = fmt.Errorf("internal error converting the directory: %v", r)
		}
	}()
	if k.converted == nil {
		k.sources = map[string]string{}
		opts.SourceOf = func(kind, namespace, name string) string {
			if namespace == "" {
				namespace = "default" // a Node's key, as parseDocument made it
			}
			return k.sources[kind+"/"+namespace+"/"+name]
		}
		k.converted, k.objs = k8s.NewIncremental(opts), map[string]*object{}
	}
	for key, o := range objs {
		k.sources[key] = o.source
	}
	// Pods and Nodes first: the endpoints set after them read their new state once.
	for _, pass := range []func(*object) bool{isPodOrNode, func(o *object) bool { return !isPodOrNode(o) }} {
		for key, old := range k.objs {
			if objs[key] == nil && pass(old) {
				k.set(old, true)
				delete(k.objs, key)
			}
		}
		for key, o := range objs {
			if k.objs[key] != o && pass(o) {
				k.set(o, false)
				k.objs[key] = o
			}
		}
	}
	for key := range k.sources {
		if objs[key] == nil {
			delete(k.sources, key)
		}
	}
	return k.converted.Part(), nil
}

func isPodOrNode(o *object) bool { return o.pod != nil || o.node != nil }

// set gives converted the object's new state (or its removal).
func (k *kubeObjects) set(o *object, remove bool) {
	c := k.converted
	switch {
	case o.service != nil:
		c.SetService(keyOf(o.service.Namespace, o.service.Name), orNil(remove, o.service))
	case o.endpointSlice != nil:
		c.SetEndpointSlice(keyOf(o.endpointSlice.Namespace, o.endpointSlice.Name), orNil(remove, o.endpointSlice))
	case o.endpoints != nil:
		c.SetEndpoints(keyOf(o.endpoints.Namespace, o.endpoints.Name), orNil(remove, o.endpoints))
	case o.pod != nil:
		c.SetPod(keyOf(o.pod.Namespace, o.pod.Name), k8s.PodInfoOf(orNil(remove, o.pod)))
	case o.node != nil:
		c.SetNode(o.node.Name, orNil(remove, o.node))
	}
}

func keyOf(namespace, name string) string { return namespace + "/" + name }

func orNil[T any](remove bool, obj *T) *T {
	if remove {
		return nil
	}
	return obj
}
