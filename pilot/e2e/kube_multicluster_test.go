package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// TestKubeMultiCluster: with --remote-kubeconfig, the reviews service of two clusters is one service
// whose endpoints are the union, each recorded with its cluster in /debug/registryz; RPCs reach the
// pods of both clusters, and a change in the remote cluster arrives.
func TestKubeMultiCluster(t *testing.T) {
	east, west := kubetest.Start(t), kubetest.Start(t)
	ns := NewNetNS(t)
	ns.StartBackends(backendPort, map[string]int{"reviews-east": 21, "reviews-west": 22})
	kubefixture.InstallCRDs(t, east) // routing rules are read from the primary cluster only
	clients := map[string]*kubetest.Cluster{"east": east, "west": west}
	hosts := map[string]int{"east": 21, "west": 22}
	for _, name := range []string{"east", "west"} {
		client := kubefixture.Client(t, clients[name])
		kubefixture.Namespace(t, client, "default")
		kubefixture.Namespace(t, client, "istio-system")
		svc := kubefixture.Service(t, client, "default", "reviews", map[string]string{"app": "reviews"},
			corev1.ServicePort{Name: "grpc", Port: 9080, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolTCP})
		pod := kubefixture.CreatePod(t, client, "default", kubefixture.Pod{Name: "reviews-" + name, IP: ns.Addr(hosts[name]),
			Ready: true, Labels: map[string]string{"app": "reviews", "version": "v1"}})
		kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, "reviews-"+name, kubefixture.Endpoint{Pod: pod, Ready: true}))
	}
	pilot := StartPilot(t, "--kubeconfig", east.Kubeconfig, "--cluster-name", "east",
		"--remote-kubeconfig", "west="+west.Kubeconfig)

	var registry struct {
		Services []struct {
			Hostname  string   `json:"hostname"`
			Clusters  []string `json:"clusters"`
			Endpoints map[string][]struct {
				Address string `json:"address"`
				Cluster string `json:"cluster"`
			} `json:"endpoints"`
		} `json:"services"`
	}
	if err := pilot.GetJSON("/debug/registryz", &registry); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range registry.Services {
		if s.Hostname != "reviews.default.svc.cluster.local" {
			continue
		}
		if !slices.Equal(s.Clusters, []string{"east", "west"}) {
			t.Errorf("clusters %v, want [east west]", s.Clusters)
		}
		for _, ep := range s.Endpoints["grpc"] {
			got = append(got, ep.Address+"@"+ep.Cluster)
		}
	}
	if want := []string{ns.Addr(21) + "@east", ns.Addr(22) + "@west"}; !slices.Equal(got, want) {
		t.Fatalf("registryz endpoints %v, want %v", got, want)
	}

	client := XDSClient(t, pilot.GRPCAddr, "productpage-v1", reviewsTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if got := Count(ctx, client, 100); got.Failed > 0 || got.ByBackend["reviews-east"] < 25 || got.ByBackend["reviews-west"] < 25 {
		t.Fatalf("want the pods of both clusters to share the traffic, got %s", got)
	}

	// The remote cluster's pod goes unready: the endpoint controller there says so, and it leaves.
	westClient := kubefixture.Client(t, west)
	svc, err := westClient.CoreV1().Services("default").Get(ctx, "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := westClient.CoreV1().Pods("default").Get(ctx, "reviews-west", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubefixture.ApplySlice(t, westClient, kubefixture.EndpointSlice(svc, "reviews-west", kubefixture.Endpoint{Pod: pod, Ready: false}))
	Eventually(t, 20*time.Second, "the west pod to leave the rotation", func() error {
		if got := Count(ctx, client, 20); got.ByBackend["reviews-east"] != 20 {
			return fmt.Errorf("got %s", got)
		}
		return nil
	})
}
