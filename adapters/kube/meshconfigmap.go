package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/minipilot/minipilot/adapters/meshconfig"
)

// MeshConfigMapKey is the key of the istio ConfigMap that holds the MeshConfig, as istiod reads it.
const MeshConfigMapKey = "mesh"

// RunMeshConfigMap keeps src on the "mesh" key of a ConfigMap (istiod's "istio" in its own
// namespace), watched: an update applies at once, a deleted ConfigMap or key means Istio's defaults,
// a bad document keeps the last good config (meshconfig.Source). It counts as synced once the
// ConfigMap has been listed.
func RunMeshConfigMap(ctx context.Context, client kubernetes.Interface, namespace, name string, src *meshconfig.Source, reg meshconfig.Registration) error {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	informer := factory.Core().V1().ConfigMaps().Informer()
	source := fmt.Sprintf("configmap %s/%s key %q", namespace, name, MeshConfigMapKey)
	apply := func(obj any) {
		var data []byte
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			if v, ok := cm.Data[MeshConfigMapKey]; ok {
				data = []byte(v)
			}
		}
		if src.Apply(data, source) {
			reg.Changed()
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(any) { apply(nil) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return nil // ctx ended
	}
	if len(informer.GetStore().List()) == 0 {
		apply(nil)
	}
	reg.Synced()
	<-ctx.Done()
	return nil
}
