package kubeauth

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Istio's names for the ConfigMap that carries the mesh's root certificate in every namespace.
const (
	RootCertConfigMap = "istio-ca-root-cert"
	RootCertKey       = "root-cert.pem"
)

// RootCertPublisher keeps a ConfigMap istio-ca-root-cert (key root-cert.pem) holding the CA's root
// in every watched namespace, as istiod's namespace controller does: created with each namespace,
// put back when it is edited or deleted. Replicas write the same content, so they do not fight.
type RootCertPublisher struct {
	Client kubernetes.Interface
	// Namespaces are the namespaces to publish to; none means every namespace.
	Namespaces []string
	RootPEM    []byte
	Log        *zap.Logger
}

// Run publishes until ctx ends.
func (p *RootCertPublisher) Run(ctx context.Context) error {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.ShutDown()
	enqueue := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			q.Add(o.Name)
		case *corev1.ConfigMap:
			q.Add(o.Namespace)
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue}
	factory := informers.NewSharedInformerFactoryWithOptions(p.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", RootCertConfigMap).String() // only ours
		}))
	nsFactory := informers.NewSharedInformerFactory(p.Client, 10*time.Minute)
	namespaces := nsFactory.Core().V1().Namespaces()
	if _, err := namespaces.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	configMaps := factory.Core().V1().ConfigMaps()
	if _, err := configMaps.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	nsFactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer nsFactory.Shutdown()
	go func() { <-ctx.Done(); q.ShutDown() }()
	factory.WaitForCacheSync(ctx.Done())
	nsFactory.WaitForCacheSync(ctx.Done())
	for {
		ns, quit := q.Get()
		if quit {
			return nil
		}
		if err := p.publish(ctx, namespaces.Lister().Get, configMaps.Lister().ConfigMaps(ns).Get, ns); err != nil {
			p.Log.Warn("publishing the root certificate", zap.String("namespace", ns), zap.Error(err))
			q.AddRateLimited(ns)
		} else {
			q.Forget(ns)
		}
		q.Done(ns)
	}
}

// publish makes the namespace's ConfigMap hold the root, if the namespace is one to publish to.
// The ConfigMap is read from the informer's cache; a stale read costs one conflicting write, retried.
func (p *RootCertPublisher) publish(ctx context.Context, getNS func(string) (*corev1.Namespace, error),
	getCM func(string) (*corev1.ConfigMap, error), name string) error {
	if len(p.Namespaces) > 0 && !slices.Contains(p.Namespaces, name) {
		return nil
	}
	ns, err := getNS(name)
	if apierrors.IsNotFound(err) || (err == nil && ns.Status.Phase == corev1.NamespaceTerminating) {
		return nil // gone or going: nothing to publish to
	}
	if err != nil {
		return err
	}
	cms := p.Client.CoreV1().ConfigMaps(name)
	cm, err := getCM(RootCertConfigMap)
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCertConfigMap, Namespace: name, Labels: map[string]string{"istio.io/config": "true"}},
			Data:       map[string]string{RootCertKey: string(p.RootPEM)},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("created meanwhile; retrying")
		}
		return err
	}
	if err != nil {
		return err
	}
	if bytes.Equal([]byte(cm.Data[RootCertKey]), p.RootPEM) {
		return nil
	}
	cm = cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[RootCertKey] = string(p.RootPEM)
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}
