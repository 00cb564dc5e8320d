package kube

//lint:file-ignore SA1019 v1 Endpoints are watched on purpose: Services without a selector list external addresses there.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model"
)

var grpcPort = corev1.ServicePort{Name: "grpc", Port: 9080, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}

// startPlatform runs a platform adapter over some namespaces of the cluster, in a store of its own.
func startPlatform(t *testing.T, client kubernetes.Interface, cluster string, namespaces ...string) (*model.Store, *Platform) {
	t.Helper()
	p, err := NewPlatform(client, Options{Cluster: cluster, Namespaces: namespaces, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	store := newStore()
	run(t, store, "kube", p)
	return store, p
}

// TestPlatform runs the platform adapter against a real API server: objects written with client-go
// reach the model, changes and deletions follow, and the watched namespaces bound what is seen.
func TestPlatform(t *testing.T) {
	c := kubetest.Start(t)
	client := kubefixture.Client(t, c)
	bg := context.Background()

	t.Run("services, pods and endpoint slices converge, deletions leave", func(t *testing.T) {
		const ns = "converge"
		kubefixture.Namespace(t, client, ns)
		store, _ := startPlatform(t, client, "east", ns)
		eventually(t, "the adapter to sync", func() error {
			if !store.Synced() {
				return fmt.Errorf("not synced")
			}
			return nil
		})

		svc := kubefixture.Service(t, client, ns, "reviews", map[string]string{"app": "reviews"}, grpcPort)
		v1 := kubefixture.CreatePod(t, client, ns, kubefixture.Pod{Name: "reviews-v1", IP: "10.1.0.1", Ready: true,
			Labels: map[string]string{"app": "reviews", "version": "v1"}})
		v2 := kubefixture.CreatePod(t, client, ns, kubefixture.Pod{Name: "reviews-v2", IP: "10.1.0.2", Ready: true,
			Labels: map[string]string{"app": "reviews", "version": "v2"}})
		kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, "reviews-abcde",
			kubefixture.Endpoint{Pod: v1, Ready: true}, kubefixture.Endpoint{Pod: v2, Ready: true}))

		host := "reviews." + ns + ".svc.cluster.local"
		port := model.Port{Name: "grpc", Port: 9080}
		eventually(t, "the service and its endpoints", func() error {
			snap := store.Snapshot()
			s := snap.Service(host)
			if s == nil || s.Address != svc.Spec.ClusterIP || len(s.Clusters) != 1 || s.Clusters[0] != "east" {
				return fmt.Errorf("service %s: %+v", host, s)
			}
			want := []string{"10.1.0.1:8080 ready=true cluster=east", "10.1.0.2:8080 ready=true cluster=east"}
			if got := endpointsOf(snap, host, port); !slices.Equal(got, want) {
				return fmt.Errorf("endpoints %v, want %v", got, want)
			}
			for _, ep := range snap.Endpoints(host, port) {
				if ep.Labels["version"] == "" || ep.Workload == "" {
					return fmt.Errorf("endpoint %s lacks the pod's labels: %+v", ep.Address, ep)
				}
			}
			return nil
		})

		// The endpoint controller marks an endpoint not ready when its Pod's probe fails.
		kubefixture.SetPodReady(t, client, v2, false)
		kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, "reviews-abcde",
			kubefixture.Endpoint{Pod: v1, Ready: true}, kubefixture.Endpoint{Pod: v2, Ready: false}))
		eventually(t, "v2 to be not ready", func() error {
			want := []string{"10.1.0.1:8080 ready=true cluster=east", "10.1.0.2:8080 ready=false cluster=east"}
			if got := endpointsOf(store.Snapshot(), host, port); !slices.Equal(got, want) {
				return fmt.Errorf("endpoints %v, want %v", got, want)
			}
			return nil
		})

		// A Pod's labels feed subsets: relabelling it reaches its endpoint without a slice change.
		pod, err := client.CoreV1().Pods(ns).Get(bg, "reviews-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Labels["version"] = "v1-canary"
		if _, err := client.CoreV1().Pods(ns).Update(bg, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the new label on the endpoint", func() error {
			for _, ep := range store.Snapshot().Endpoints(host, port) {
				if ep.Address == "10.1.0.1" && ep.Labels["version"] != "v1-canary" {
					return fmt.Errorf("labels %v", ep.Labels)
				}
			}
			return nil
		})

		if err := client.DiscoveryV1().EndpointSlices(ns).Delete(bg, "reviews-abcde", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := client.CoreV1().Services(ns).Delete(bg, "reviews", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the service and its endpoints to go", func() error {
			snap := store.Snapshot()
			if snap.Service(host) != nil || len(snap.Endpoints(host, port)) != 0 {
				return fmt.Errorf("still there: %v", endpointsOf(snap, host, port))
			}
			return nil
		})
	})

	t.Run("node locality", func(t *testing.T) {
		const ns = "locality"
		kubefixture.Namespace(t, client, ns)
		kubefixture.Node(t, client, "node-a", "us-east1", "us-east1-b")
		svc := kubefixture.Service(t, client, ns, "ratings", map[string]string{"app": "ratings"}, grpcPort)
		pod := kubefixture.CreatePod(t, client, ns, kubefixture.Pod{Name: "ratings-1", IP: "10.2.0.1", Node: "node-a", Ready: true,
			Labels: map[string]string{"app": "ratings"}})
		kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, "ratings-1", kubefixture.Endpoint{Pod: pod, Ready: true}))
		store, _ := startPlatform(t, client, "east", ns)
		host := "ratings." + ns + ".svc.cluster.local"
		eventually(t, "the endpoint with the node's locality", func() error {
			eps := store.Snapshot().Endpoints(host, model.Port{Name: "grpc"})
			if len(eps) != 1 || eps[0].Locality.String() != "us-east1/us-east1-b" {
				return fmt.Errorf("endpoints %+v", eps)
			}
			return nil
		})
		// The node moves zone (relabelled): the endpoint follows.
		node, err := client.CoreV1().Nodes().Get(bg, "node-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Labels[corev1.LabelTopologyZone] = "us-east1-c"
		if _, err := client.CoreV1().Nodes().Update(bg, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the new zone", func() error {
			eps := store.Snapshot().Endpoints(host, model.Port{Name: "grpc"})
			if len(eps) != 1 || eps[0].Locality.String() != "us-east1/us-east1-c" {
				return fmt.Errorf("endpoints %+v", eps)
			}
			return nil
		})
	})

	t.Run("Endpoints of a selector-less service", func(t *testing.T) {
		const ns = "external"
		kubefixture.Namespace(t, client, ns)
		if _, err := client.CoreV1().Services(ns).Create(bg, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy-db"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "tcp", Port: 5432}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Endpoints(ns).Create(bg, &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy-db"},
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}, {IP: "192.0.2.11"}},
				Ports:     []corev1.EndpointPort{{Name: "tcp", Port: 5432}},
			}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		store, _ := startPlatform(t, client, "east", ns)
		host := "legacy-db." + ns + ".svc.cluster.local"
		eventually(t, "the Endpoints addresses", func() error {
			want := []string{"192.0.2.10:5432 ready=true cluster=east", "192.0.2.11:5432 ready=true cluster=east"}
			if got := endpointsOf(store.Snapshot(), host, model.Port{Name: "tcp"}); !slices.Equal(got, want) {
				return fmt.Errorf("endpoints %v, want %v", got, want)
			}
			return nil
		})
	})

	t.Run("watch-namespaces narrows the scope", func(t *testing.T) {
		for _, ns := range []string{"watched", "ignored"} {
			kubefixture.Namespace(t, client, ns)
			kubefixture.Service(t, client, ns, "details", map[string]string{"app": "details"}, grpcPort)
		}
		store, _ := startPlatform(t, client, "east", "watched")
		eventually(t, "the adapter to sync", func() error {
			if !store.Synced() {
				return fmt.Errorf("not synced")
			}
			return nil
		})
		snap := store.Snapshot()
		if snap.Service("details.watched.svc.cluster.local") == nil {
			t.Fatalf("the service in the watched namespace is missing: %v", hostnames(snap))
		}
		for _, s := range snap.Services {
			if s.Namespace != "watched" {
				t.Fatalf("a service outside the watched namespaces got in: %s", s.Hostname)
			}
		}
	})

	t.Run("synced only once the queue has handled the initial list", func(t *testing.T) {
		const ns, n = "bulk", 30
		kubefixture.Namespace(t, client, ns)
		for i := range n {
			svc := kubefixture.Service(t, client, ns, fmt.Sprintf("svc-%02d", i), map[string]string{"app": "x"}, grpcPort)
			pod := kubefixture.CreatePod(t, client, ns, kubefixture.Pod{Name: fmt.Sprintf("pod-%02d", i),
				IP: fmt.Sprintf("10.3.0.%d", i+1), Ready: true, Labels: map[string]string{"app": "x"}})
			kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, svc.Name+"-1", kubefixture.Endpoint{Pod: pod, Ready: true}))
		}
		p, err := NewPlatform(client, Options{Cluster: "east", Namespaces: []string{ns}, Log: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		// A slow chain: the caches sync long before the queue has worked through ~90 keys, so a
		// source that reported synced on cache sync alone would be caught with a partial part.
		var handled atomic.Int64
		p.handled = func(Key) { handled.Add(1); time.Sleep(10 * time.Millisecond) }
		store := newStore()
		run(t, store, "kube", p)
		deadline := time.Now().Add(waitTimeout)
		for !store.Synced() {
			if time.Now().After(deadline) {
				t.Fatal("never synced")
			}
			time.Sleep(time.Millisecond)
		}
		snap := store.Snapshot()
		eps := 0
		for _, s := range snap.Services {
			eps += len(snap.Endpoints(s.Hostname, model.Port{Name: "grpc"}))
		}
		if len(snap.Services) != n || eps != n {
			t.Fatalf("at sync the model held %d services and %d endpoints, want %d of each (%d keys handled)",
				len(snap.Services), eps, n, handled.Load())
		}
	})
}

func hostnames(snap *model.Snapshot) []string {
	var out []string
	for _, s := range snap.Services {
		out = append(out, s.Hostname)
	}
	return out
}
