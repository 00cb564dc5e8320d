package kube

import (
	"fmt"
	"slices"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model"
)

// TestMultiClusterMergesEndpoints: the same service in two clusters is one service in the model whose
// endpoints are the union, each recording its cluster; a service in one cluster only says so.
func TestMultiClusterMergesEndpoints(t *testing.T) {
	clusters := map[string]*kubetest.Cluster{"east": kubetest.Start(t), "west": kubetest.Start(t)}
	store := newStore()
	for i, name := range []string{"east", "west"} {
		client := kubefixture.Client(t, clusters[name])
		kubefixture.Namespace(t, client, "default")
		svc := kubefixture.Service(t, client, "default", "reviews", map[string]string{"app": "reviews"}, grpcPort)
		pod := kubefixture.CreatePod(t, client, "default", kubefixture.Pod{Name: "reviews-" + name,
			IP: fmt.Sprintf("10.%d.0.1", 10+i), Ready: true, Labels: map[string]string{"app": "reviews"}})
		kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(svc, "reviews-1", kubefixture.Endpoint{Pod: pod, Ready: true}))
		if name == "west" {
			kubefixture.Service(t, client, "default", "ratings", map[string]string{"app": "ratings"}, grpcPort)
		}
		p, err := NewPlatform(client, Options{Cluster: name, Log: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		run(t, store, "kube/"+name, p)
	}
	const host = "reviews.default.svc.cluster.local"
	eventually(t, "the merged service", func() error {
		if !store.Synced() {
			return fmt.Errorf("not synced")
		}
		snap := store.Snapshot()
		svc := snap.Service(host)
		if svc == nil || !slices.Equal(svc.Clusters, []string{"east", "west"}) {
			return fmt.Errorf("service %+v", svc)
		}
		want := []string{"10.10.0.1:8080 ready=true cluster=east", "10.11.0.1:8080 ready=true cluster=west"}
		if got := endpointsOf(snap, host, model.Port{Name: "grpc"}); !slices.Equal(got, want) {
			return fmt.Errorf("endpoints %v, want %v", got, want)
		}
		if r := snap.Service("ratings.default.svc.cluster.local"); r == nil || !slices.Equal(r.Clusters, []string{"west"}) {
			return fmt.Errorf("ratings %+v", r)
		}
		return nil
	})
}
