package kube

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model"
)

// With StreamInitialLists, as pilot-discovery runs, the informers take their first state from a
// watch stream (sendInitialEvents), in protobuf, not from a list, and sync with every object
// there already was. The switch is process-wide: the package's later tests stream too.
func TestInformersStreamTheirFirstState(t *testing.T) {
	StreamInitialLists()
	c := kubetest.Start(t)
	admin := kubefixture.Client(t, c)
	const ns = "streamed"
	kubefixture.Namespace(t, admin, ns)
	svc := kubefixture.Service(t, admin, ns, "reviews", map[string]string{"app": "reviews"}, grpcPort)
	pod := kubefixture.CreatePod(t, admin, ns, kubefixture.Pod{Name: "reviews-v1", IP: "10.1.0.1", Ready: true,
		Labels: map[string]string{"app": "reviews", "version": "v1"}})
	kubefixture.ApplySlice(t, admin, kubefixture.EndpointSlice(svc, "reviews-abcde", kubefixture.Endpoint{Pod: pod, Ready: true}))

	var mu sync.Mutex
	var podRequests []string
	cfg := tune(kubefixture.Config(c))
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/pods") {
				mu.Lock()
				podRequests = append(podRequests, r.URL.Query().Encode()+" accept="+r.Header.Get("Accept"))
				mu.Unlock()
			}
			return rt.RoundTrip(r)
		})
	})
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := startPlatform(t, client, "east", ns)
	eventually(t, "the endpoint, with its pod's labels", func() error {
		eps := store.Snapshot().Endpoints("reviews."+ns+".svc.cluster.local", model.Port{Name: "grpc", Port: 9080})
		if !store.Synced() || len(eps) != 1 || eps[0].Labels["version"] != "v1" {
			return fmt.Errorf("synced %v, endpoints %+v", store.Synced(), eps)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(podRequests) == 0 {
		t.Fatal("no request for pods")
	}
	first := podRequests[0]
	if !strings.Contains(first, "sendInitialEvents=true") || !strings.Contains(first, "watch=true") ||
		!strings.HasSuffix(first, "accept=application/vnd.kubernetes.protobuf,application/json") {
		t.Errorf("the pods' first state came from %q; want a protobuf watch stream with its initial events", first)
	}
	if i := slices.IndexFunc(podRequests, func(q string) bool { return !strings.Contains(q, "watch=true") }); i >= 0 {
		t.Errorf("pods were listed: %q", podRequests[i])
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
