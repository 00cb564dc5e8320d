package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// KubeMesh is a generated mesh written into a real API server, the same objects for minipilot and
// istiod: Services svc-<i> in namespaces ns-<i mod Namespaces>, each with Endpoints Pods (labels
// app=svc-<i>, version=v1|v2 alternating, Running and Ready) behind one EndpointSlice on port 8080,
// and one DestinationRule (subsets v1, v2) and one VirtualService (a 90/10 split) for svc-0.
type KubeMesh struct {
	Services   int
	Endpoints  int // per service, at most 254
	Namespaces int // 1 when zero
}

// MeshPort is the port every generated service serves (named http).
const MeshPort = 8080

// Namespace is the namespace of service i.
func (m KubeMesh) Namespace(i int) string { return fmt.Sprintf("ns-%d", i%max(m.Namespaces, 1)) }

// Host is the FQDN of service i.
func (m KubeMesh) Host(i int) string {
	return fmt.Sprintf("svc-%d.%s.svc.cluster.local", i, m.Namespace(i))
}

// PodIP is the address of endpoint j of service i: 10.100.0.1 onwards, clear of the addresses
// tests give their proxies (10.1.x.x).
func (m KubeMesh) PodIP(i, j int) string {
	return fmt.Sprintf("10.%d.%d.%d", 100+i/256, i%256, j+1)
}

// Apply writes the mesh into the cluster (the CRDs must be served: PrepareIstio, or
// kubefixture.InstallCRDs for minipilot alone) and returns once every object is stored.
func (m KubeMesh) Apply(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	if m.Endpoints > 254 {
		t.Fatalf("KubeMesh: %d endpoints per service, at most 254", m.Endpoints)
	}
	began := time.Now()
	client := kubefixture.Client(t, c)
	for n := range max(m.Namespaces, 1) {
		kubefixture.Namespace(t, client, m.Namespace(n))
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(16) // well under the apiserver's 400 in-flight requests, enough to keep it busy
	for i := range m.Services {
		g.Go(func() error { return m.applyService(ctx, client, i) })
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("KubeMesh: %v", err)
	}
	if m.Services > 0 {
		kubefixture.Apply(t, c, m.rules())
	}
	t.Logf("KubeMesh: %d services × %d endpoints in %d namespaces written in %s",
		m.Services, m.Endpoints, max(m.Namespaces, 1), time.Since(began).Round(time.Millisecond))
}

// applyService writes what a user, the kubelets and the EndpointSlice controller would for service i.
func (m KubeMesh) applyService(ctx context.Context, client kubernetes.Interface, i int) error {
	name, ns := fmt.Sprintf("svc-%d", i), m.Namespace(i)
	svc, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{
			{Name: "http", Port: MeshPort, TargetPort: intstr.FromInt32(MeshPort), Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("service %s/%s: %w", ns, name, err)
	}
	var endpoints []kubefixture.Endpoint
	for j := range m.Endpoints {
		pod, err := createRunningPod(ctx, client, ns, fmt.Sprintf("%s-%d", name, j), m.PodIP(i, j),
			map[string]string{"app": name, "version": fmt.Sprintf("v%d", 1+j%2)})
		if err != nil {
			return err
		}
		endpoints = append(endpoints, kubefixture.Endpoint{Pod: pod, Ready: true})
	}
	es := kubefixture.EndpointSlice(svc, name+"-0", endpoints...)
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("endpoint slice %s/%s: %w", ns, es.Name, err)
	}
	return nil
}

// createRunningPod creates a Pod and writes its status as a kubelet would (kubefixture.CreatePod does
// the same but fails the test, which only the test's goroutine may do).
func createRunningPod(ctx context.Context, client kubernetes.Interface, ns, name, ip string, labels map[string]string) (*corev1.Pod, error) {
	pod, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
	if pod, err = client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("status of pod %s/%s: %w", ns, name, err)
	}
	return pod, nil
}

// rules are the mesh's one DestinationRule and one VirtualService, for svc-0.
func (m KubeMesh) rules() string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-0, namespace: %[1]s}
spec:
  host: svc-0
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-0, namespace: %[1]s}
spec:
  hosts: [svc-0]
  http:
  - route:
    - {destination: {host: svc-0, subset: v1}, weight: 90}
    - {destination: {host: svc-0, subset: v2}, weight: 10}
`, m.Namespace(0))
}
