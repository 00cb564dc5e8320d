package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube"
	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model"
)

const backendPort = 9080

// reviewsHosts are the bookinfo reviews pods and the host part of their address in the namespace:
// one pod each for v1 and v2, two for v3 (so that one can leave the rotation).
var reviewsHosts = map[string]int{"reviews-v1": 21, "reviews-v2": 22, "reviews-v3-0": 23, "reviews-v3-1": 24}

// kubeBookinfo is bookinfo's reviews service in a real API server, its pods served by real backends in
// a network namespace, and its routing rules applied with kubectl.
type kubeBookinfo struct {
	cluster *kubetest.Cluster
	client  kubernetes.Interface
	dyn     dynamic.Interface
	netns   *NetNS
	service *corev1.Service
	pods    map[string]*corev1.Pod
}

// startKubeBookinfo writes what kubelets, the endpoint controller and a user would: the reviews
// Service, its Pods with their status, its EndpointSlice, and the routing rules (an 80/20 split).
func startKubeBookinfo(t *testing.T) *kubeBookinfo {
	t.Helper()
	c := kubetest.Start(t) // first: without the binaries it fails (or skips) on kubetest's terms
	ns := NewNetNS(t)
	ns.StartBackends(backendPort, reviewsHosts)
	kubefixture.InstallCRDs(t, c)
	b := &kubeBookinfo{cluster: c, client: kubefixture.Client(t, c), netns: ns, pods: map[string]*corev1.Pod{}}
	var err error
	if b.dyn, err = dynamic.NewForConfig(kubefixture.Config(c)); err != nil {
		t.Fatal(err)
	}
	kubefixture.Namespace(t, b.client, "default")
	kubefixture.Namespace(t, b.client, "istio-system") // the leader election Lease lives there
	b.service = kubefixture.Service(t, b.client, "default", "reviews", map[string]string{"app": "reviews"},
		corev1.ServicePort{Name: "grpc", Port: 9080, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolTCP})
	for name, host := range reviewsHosts {
		version := strings.Split(strings.TrimPrefix(name, "reviews-"), "-")[0]
		b.pods[name] = kubefixture.CreatePod(t, b.client, "default", kubefixture.Pod{Name: name, IP: ns.Addr(host), Ready: true,
			Labels: map[string]string{"app": "reviews", "version": version}})
	}
	b.writeSlice(t, nil)
	kubefixture.Apply(t, c, routing(split8020))
	return b
}

// writeSlice writes the reviews EndpointSlice as the endpoint controller would: every pod, ready
// unless listed in notReady, and none of those listed in gone.
func (b *kubeBookinfo) writeSlice(t *testing.T, notReady map[string]bool, gone ...string) {
	t.Helper()
	var eps []kubefixture.Endpoint
	for _, name := range []string{"reviews-v1", "reviews-v2", "reviews-v3-0", "reviews-v3-1"} {
		if !contains(gone, name) {
			eps = append(eps, kubefixture.Endpoint{Pod: b.pods[name], Ready: !notReady[name]})
		}
	}
	kubefixture.ApplySlice(t, b.client, kubefixture.EndpointSlice(b.service, "reviews-x7k2p", eps...))
}

// startPilot runs pilot-discovery against the cluster.
func (b *kubeBookinfo) startPilot(t *testing.T, args ...string) *Pilot {
	t.Helper()
	return StartPilot(t, append([]string{"--kubeconfig", b.cluster.Kubeconfig, "--cluster-name", "east"}, args...)...)
}

// vsCondition is the Reconciled condition of the reviews VirtualService and its generation.
func (b *kubeBookinfo) vsCondition() (*metav1.Condition, int64, error) {
	u, err := b.dyn.Resource(kube.ConfigResources[model.KindVirtualService]).Namespace("default").
		Get(context.Background(), "reviews", metav1.GetOptions{})
	if err != nil {
		return nil, 0, err
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conditions {
		m, _ := raw.(map[string]any)
		if m["type"] != kube.ConditionReconciled {
			continue
		}
		gen, _, _ := unstructured.NestedInt64(m, "observedGeneration")
		msg, _ := m["message"].(string)
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		return &metav1.Condition{Type: kube.ConditionReconciled, Status: metav1.ConditionStatus(status), Reason: reason,
			Message: msg, ObservedGeneration: gen}, u.GetGeneration(), nil
	}
	return nil, u.GetGeneration(), fmt.Errorf("no %s condition yet", kube.ConditionReconciled)
}

// proxyVersions is what /debug/syncz says the one connected proxy acknowledged, by type.
func proxyVersions(p *Pilot) (map[string]string, error) {
	var syncz []struct {
		ID     string `json:"id"`
		Staged bool   `json:"staged"`
		Types  map[string]struct {
			Sent  struct{ Version string } `json:"sent"`
			Acked struct{ Version string } `json:"acked"`
		} `json:"types"`
	}
	if err := p.GetJSON("/debug/syncz", &syncz); err != nil {
		return nil, err
	}
	if len(syncz) != 1 {
		return nil, fmt.Errorf("want one connected proxy, got %d", len(syncz))
	}
	if syncz[0].Staged {
		// Mid make-before-break: the routes it holds are the warm-up ones, about to be replaced.
		return nil, fmt.Errorf("the proxy is staged: its listeners or routes wait for new clusters")
	}
	out := map[string]string{}
	for _, typ := range []string{"cds", "eds", "lds", "rds"} {
		st := syncz[0].Types[typ]
		if st.Sent.Version == "" || st.Sent.Version != st.Acked.Version {
			return nil, fmt.Errorf("%s: sent %q, acked %q", typ, st.Sent.Version, st.Acked.Version)
		}
		out[typ] = st.Acked.Version
	}
	return out, nil
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// weights renders the default route of routing() with the given subset weights.
func weights(pairs ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "    - {destination: {host: reviews, subset: %s}, weight: %d}\n", pairs[i], pairs[i+1])
	}
	return b.String()
}

// traffic sends RPCs one after another in the background until stopped.
type traffic struct {
	stopCh  chan struct{}
	done    chan struct{}
	sent    int
	failed  int
	lastErr error
}

func startTraffic(ctx context.Context, client testgrpc.TestServiceClient) *traffic {
	tr := &traffic{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for {
			select {
			case <-tr.stopCh:
				return
			default:
			}
			tally := Count(ctx, client, 1)
			tr.sent++
			if tally.Failed > 0 {
				tr.failed++
				tr.lastErr = tally.LastError
			}
		}
	}()
	return tr
}

// stop ends the traffic and fails the test if any RPC failed.
func (tr *traffic) stop(t *testing.T, during string) {
	t.Helper()
	close(tr.stopCh)
	<-tr.done
	if tr.failed > 0 {
		t.Fatalf("%d of %d RPCs failed %s; last error: %v", tr.failed, tr.sent, during, tr.lastErr)
	}
	t.Logf("%d RPCs %s, none failed", tr.sent, during)
}
