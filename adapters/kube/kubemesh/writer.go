// Package kubemesh writes a generated mesh (model/modeltest objects) into a Kubernetes API server, as
// the cluster's own controllers and users would: Services, Pods with their status (as a kubelet
// writes it), EndpointSlices (as the endpoint controller does) and networking.istio.io rules. Any
// control plane watching the cluster (minipilot, istiod) then serves the same mesh, so the load
// tool's churn scenarios measure both the same way.
package kubemesh

import (
	"context"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/minipilot/minipilot/model/modeltest"
)

// fieldManager owns what the writer applies (server-side apply).
const fieldManager = "xds-load"

// setupWorkers is how many objects Setup writes at once.
const setupWorkers = 16

// resources maps the generated kinds to their API resources, with the order Setup writes them in:
// what a later kind refers to exists first (a slice's Pods, a rule's Service).
var resources = map[string]struct {
	gvr        schema.GroupVersionResource
	stage      int
	namespaced bool
}{
	"Namespace":       {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, 0, false},
	"ServiceAccount":  {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, 1, true},
	"Service":         {schema.GroupVersionResource{Version: "v1", Resource: "services"}, 2, true},
	"Pod":             {schema.GroupVersionResource{Version: "v1", Resource: "pods"}, 3, true},
	"EndpointSlice":   {schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, 4, true},
	"DestinationRule": {schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}, 5, true},
	"VirtualService":  {schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}, 5, true},
}

// stages is how many stages Setup writes in.
const stages = 6

// Writer writes mesh objects into one cluster.
type Writer struct {
	dyn dynamic.Interface
}

// New writes through a client of cfg, with client-side rate limits raised for setting up thousands
// of objects (the API server's own flow control still applies).
func New(cfg *rest.Config) (*Writer, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Writer{dyn: dyn}, nil
}

// FromKubeconfig writes into the current context of a kubeconfig file.
func FromKubeconfig(path string) (*Writer, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return New(cfg)
}

// Setup writes a whole mesh: its namespaces with their default ServiceAccount (which Pods need, and
// which a cluster's controller would create), then its objects kind by kind, many at once. The
// networking.istio.io CRDs must be installed (crds/).
func (w *Writer) Setup(ctx context.Context, namespaces []string, objs []modeltest.Object) error {
	var byStage [stages][]modeltest.Object
	for _, ns := range namespaces {
		byStage[0] = append(byStage[0], modeltest.Object{Doc: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": ns}}})
		byStage[1] = append(byStage[1], modeltest.Object{Doc: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata": map[string]any{"name": "default", "namespace": ns}}})
	}
	for _, o := range objs {
		r, ok := resources[o.Kind()]
		if !ok {
			return fmt.Errorf("kubemesh: cannot write a %s", o.Kind())
		}
		byStage[r.stage] = append(byStage[r.stage], o)
	}
	for _, objs := range byStage {
		if err := w.parallel(ctx, objs); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) parallel(ctx context.Context, objs []modeltest.Object) error {
	work := make(chan modeltest.Object)
	errs := make([]error, setupWorkers)
	var wg sync.WaitGroup
	for i := range setupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if errs[i] == nil {
					errs[i] = w.apply(ctx, o)
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// Write applies objects in order, then deletes others in order (one already gone is no error).
func (w *Writer) Write(ctx context.Context, apply, remove []modeltest.Object) error {
	for _, o := range apply {
		if err := w.apply(ctx, o); err != nil {
			return err
		}
	}
	for _, o := range remove {
		if err := w.remove(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Check says whether the objects exist, so that a scenario never changes a mesh other than the one
// it was told of.
func (w *Writer) Check(ctx context.Context, objs []modeltest.Object) error {
	for _, o := range objs {
		client, err := w.client(o)
		if err != nil {
			return err
		}
		if _, err := client.Get(ctx, o.Name(), metav1.GetOptions{}); err != nil {
			return fmt.Errorf("%s: %w (was the mesh written with the same flags?)", o.Key(), err)
		}
	}
	return nil
}

func (w *Writer) client(o modeltest.Object) (dynamic.ResourceInterface, error) {
	r, ok := resources[o.Kind()]
	if !ok {
		return nil, fmt.Errorf("kubemesh: cannot write a %s", o.Kind())
	}
	if !r.namespaced {
		return w.dyn.Resource(r.gvr), nil
	}
	return w.dyn.Resource(r.gvr).Namespace(o.Namespace()), nil
}

// apply writes one object with server-side apply; a Pod's status goes to its status subresource
// afterwards, as a kubelet writes it. A Service's clusterIP is left to the API server to allocate:
// a generated one may be taken, or outside the cluster's range.
func (w *Writer) apply(ctx context.Context, o modeltest.Object) error {
	client, err := w.client(o)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(o.JSON()); err != nil {
		return fmt.Errorf("%s: %w", o.Key(), err)
	}
	if o.Kind() == "Service" {
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if _, err := client.Apply(ctx, o.Name(), u, opts); err != nil {
		return fmt.Errorf("%s: %w", o.Key(), err)
	}
	if _, ok := u.Object["status"]; ok && o.Kind() == "Pod" {
		if _, err := client.ApplyStatus(ctx, o.Name(), u, opts); err != nil {
			return fmt.Errorf("status of %s: %w", o.Key(), err)
		}
	}
	return nil
}

func (w *Writer) remove(ctx context.Context, o modeltest.Object) error {
	client, err := w.client(o)
	if err != nil {
		return err
	}
	zero := int64(0)
	err = client.Delete(ctx, o.Name(), metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", o.Key(), err)
	}
	return nil
}
