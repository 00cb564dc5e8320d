// Package kubefixture writes Kubernetes objects into a kubetest cluster the way the missing
// components (kubelet, endpoint controller, service-account controller) would, and installs the
// routing CRDs, for the tests of the Kubernetes adapter and the end-to-end tests.
package kubefixture

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"k8s.io/utils/ptr"
)

const timeout = 30 * time.Second

// ctx bounds one API call. Not t.Context(): helpers also run from cleanups, when it is cancelled.
func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), timeout)
}

// Namespace creates a namespace and its default ServiceAccount, which the ServiceAccount admission
// plugin requires before a Pod can be created and which no controller creates here.
func Namespace(t testing.TB, client kubernetes.Interface, name string) {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	_, err := client.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kubefixture: namespace %s: %v", name, err)
	}
	_, err = client.CoreV1().ServiceAccounts(name).Create(c, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kubefixture: default service account in %s: %v", name, err)
	}
}

// Service creates a ClusterIP Service selecting selector, with the given ports.
func Service(t testing.TB, client kubernetes.Interface, ns, name string, selector map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	svc, err := client.CoreV1().Services(ns).Create(c, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: ports},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubefixture: service %s/%s: %v", ns, name, err)
	}
	return svc
}

// Pod describes a Pod to create.
type Pod struct {
	Name   string
	Labels map[string]string
	IP     string
	Node   string
	Ready  bool
}

// CreatePod creates a Pod and then, as a kubelet would, writes its status (Running, IP, Ready)
// through the status subresource, since a create ignores the status.
func CreatePod(t testing.TB, client kubernetes.Interface, ns string, p Pod) *corev1.Pod {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	pod, err := client.CoreV1().Pods(ns).Create(c, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: p.Labels},
		Spec: corev1.PodSpec{
			NodeName:   p.Node,
			Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubefixture: pod %s/%s: %v", ns, p.Name, err)
	}
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: p.IP, PodIPs: []corev1.PodIP{{IP: p.IP}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: conditionStatus(p.Ready), LastTransitionTime: metav1.Now()}},
	}
	pod, err = client.CoreV1().Pods(ns).UpdateStatus(c, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("kubefixture: status of pod %s/%s: %v", ns, p.Name, err)
	}
	return pod
}

// SetPodReady writes the Ready condition of a Pod, as a kubelet whose readiness probe changed would.
func SetPodReady(t testing.TB, client kubernetes.Interface, pod *corev1.Pod, ready bool) *corev1.Pod {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	cur, err := client.CoreV1().Pods(pod.Namespace).Get(c, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("kubefixture: pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	for i := range cur.Status.Conditions {
		if cur.Status.Conditions[i].Type == corev1.PodReady {
			cur.Status.Conditions[i].Status = conditionStatus(ready)
		}
	}
	cur, err = client.CoreV1().Pods(pod.Namespace).UpdateStatus(c, cur, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("kubefixture: status of pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return cur
}

// Endpoint is one Pod behind a Service, with its readiness as the endpoint controller saw it.
type Endpoint struct {
	Pod   *corev1.Pod
	Ready bool
}

// EndpointSlice builds the slice the endpoint controller would write for svc: the service-name and
// managed-by labels, the Service as owner, one entry per Pod with its IP, node and target reference,
// and the service's ports by name with their (numeric) target ports.
func EndpointSlice(svc *corev1.Service, name string, endpoints ...Endpoint) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: svc.Namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: svc.Name,
				discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, p := range svc.Spec.Ports {
		target := p.Port
		if p.TargetPort.IntVal != 0 {
			target = p.TargetPort.IntVal
		}
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(target), Protocol: ptr.To(p.Protocol)})
	}
	for _, e := range endpoints {
		ep := discoveryv1.Endpoint{
			Addresses:  []string{e.Pod.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.Ready), Serving: ptr.To(e.Ready), Terminating: ptr.To(false)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: e.Pod.Namespace, Name: e.Pod.Name, UID: e.Pod.UID},
		}
		if e.Pod.Spec.NodeName != "" {
			ep.NodeName = ptr.To(e.Pod.Spec.NodeName)
		}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}

// ApplySlice creates the slice or replaces the one of that name.
func ApplySlice(t testing.TB, client kubernetes.Interface, es *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	slices := client.DiscoveryV1().EndpointSlices(es.Namespace)
	cur, err := slices.Get(c, es.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cur, err = slices.Create(c, es, metav1.CreateOptions{})
	case err == nil:
		es = es.DeepCopy()
		es.ResourceVersion = cur.ResourceVersion
		cur, err = slices.Update(c, es, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("kubefixture: endpoint slice %s/%s: %v", es.Namespace, es.Name, err)
	}
	return cur
}

// Node creates a Node with the topology labels of a region and zone.
func Node(t testing.TB, client kubernetes.Interface, name, region, zone string) *corev1.Node {
	t.Helper()
	c, cancel := ctx()
	defer cancel()
	n, err := client.CoreV1().Nodes().Create(c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelTopologyRegion: region, corev1.LabelTopologyZone: zone,
	}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubefixture: node %s: %v", name, err)
	}
	return n
}

func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// Config is the cluster's admin config without client-go's default 5 QPS limit, which would make a
// test that writes a few dozen objects take seconds for nothing.
func Config(c *kubetest.Cluster) *rest.Config {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	return cfg
}

// Client is a clientset built from Config.
func Client(t testing.TB, c *kubetest.Cluster) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(Config(c))
	if err != nil {
		t.Fatalf("kubefixture: %v", err)
	}
	return client
}
