package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/xds/adsc"
)

// TestKubeRoutesRealTraffic: pilot-discovery run with --kubeconfig serves bookinfo's reviews from a
// real API server to grpc-go xDS clients, whose RPCs reach real backends: the 80/20 split, a new split
// applied with kubectl, an endpoint scaled down, and a rule the validator refuses (status, Event, and
// traffic unchanged) then fixed, and a route config a proxy refuses (an Event on the rule).
func TestKubeRoutesRealTraffic(t *testing.T) {
	b := startKubeBookinfo(t)
	pilot := b.startPilot(t)
	client := XDSClient(t, pilot.GRPCAddr, "productpage-v1", reviewsTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("80/20 split from the first RPC", func(t *testing.T) {
		// Ready means synced: the very first RPCs see the whole config, so none fails.
		assertSplit8020(t, Count(ctx, client, 1000))
		if got := Count(ctx, client, 50, "end-user", "jason"); got.ByBackend["reviews-v2"] != 50 {
			t.Fatalf("jason should always reach v2, got %s", got)
		}
	})

	t.Run("kubectl apply of new weights moves traffic", func(t *testing.T) {
		tr := startTraffic(ctx, client)
		kubefixture.Apply(t, b.cluster, routing(allToV3))
		Eventually(t, 20*time.Second, "all traffic to reach v3", func() error {
			if got := Count(ctx, client, 20); got.ByBackend["reviews-v3-0"]+got.ByBackend["reviews-v3-1"] != 20 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		tr.stop(t, "while the weights changed")
		if got := Count(ctx, client, 100); got.ByBackend["reviews-v3-0"] < 25 || got.ByBackend["reviews-v3-1"] < 25 {
			t.Fatalf("both v3 pods should share the traffic, got %s", got)
		}
	})

	t.Run("a scaled-down endpoint leaves the rotation", func(t *testing.T) {
		tr := startTraffic(ctx, client)
		kubefixture.SetPodReady(t, b.client, b.pods["reviews-v3-1"], false)
		b.writeSlice(t, map[string]bool{"reviews-v3-1": true})
		Eventually(t, 20*time.Second, "reviews-v3-1 to leave the rotation", func() error {
			if got := Count(ctx, client, 20); got.ByBackend["reviews-v3-0"] != 20 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		// Scaled to one: the endpoint goes from the slice altogether.
		b.writeSlice(t, nil, "reviews-v3-1")
		Eventually(t, 20*time.Second, "reviews-v3-1 to leave the registry", func() error {
			body, err := pilot.Get("/debug/registryz")
			if err != nil {
				return err
			}
			if strings.Contains(string(body), b.netns.Addr(24)) || !strings.Contains(string(body), b.netns.Addr(23)) {
				return fmt.Errorf("registryz still lists %s (or lost %s)", b.netns.Addr(24), b.netns.Addr(23))
			}
			return nil
		})
		tr.stop(t, "while an endpoint left")
		if got := Count(ctx, client, 50); got.ByBackend["reviews-v3-0"] != 50 {
			t.Fatalf("want all on reviews-v3-0, got %s", got)
		}
	})

	t.Run("a rule the validator refuses changes nothing", func(t *testing.T) {
		before, err := proxyVersions(pilot)
		if err != nil {
			t.Fatal(err)
		}
		// The schema accepts it; the validator does not: 70 + 20 is not 100.
		kubefixture.Apply(t, b.cluster, routing(weights("v3", 70, "v2", 20)))
		var cond *metav1.Condition
		Eventually(t, 20*time.Second, "Reconciled=False on the VirtualService", func() error {
			c, gen, err := b.vsCondition()
			if err != nil {
				return err
			}
			if c.Status != metav1.ConditionFalse || c.ObservedGeneration != gen {
				return fmt.Errorf("condition %+v at generation %d", c, gen)
			}
			cond = c
			return nil
		})
		if cond.Reason != "InvalidSpec" || !strings.Contains(cond.Message, "spec.http[1].route: the weights of the destinations add up to 90, not 100") {
			t.Fatalf("the condition should name the field and the reason: %+v", cond)
		}
		Eventually(t, 20*time.Second, "a Warning event on the VirtualService", func() error {
			out, _, err := b.cluster.Kubectl(t, "get", "events", "-n", "default",
				"--field-selector", "involvedObject.name=reviews,reason=InvalidSpec,type=Warning", "-o", "name")
			if err != nil || strings.TrimSpace(out) == "" {
				return fmt.Errorf("no event yet (%v)", err)
			}
			return nil
		})
		Eventually(t, 10*time.Second, "the rejection in /debug/configz", func() error {
			body, err := pilot.Get("/debug/configz")
			if err != nil {
				return err
			}
			if !strings.Contains(string(body), "add up to 90, not 100") || !strings.Contains(string(body), `"source": "kube/east"`) {
				return fmt.Errorf("no rejection naming the source and the reason in %s", body)
			}
			return nil
		})
		if got := Count(ctx, client, 100); got.Failed > 0 || got.ByBackend["reviews-v3-0"] != 100 {
			t.Fatalf("the last valid rule (all to v3) should still be in force, got %s", got)
		}
		after, err := proxyVersions(pilot)
		if err != nil || !sameVersions(before, after) {
			t.Fatalf("the proxy's config changed: before %v, after %v (%v)", before, after, err)
		}
	})

	t.Run("fixing it flips the condition to True", func(t *testing.T) {
		kubefixture.Apply(t, b.cluster, routing(weights("v1", 50, "v3", 50)))
		Eventually(t, 20*time.Second, "Reconciled=True for the new generation", func() error {
			c, gen, err := b.vsCondition()
			if err != nil {
				return err
			}
			if c.Status != metav1.ConditionTrue || c.ObservedGeneration != gen {
				return fmt.Errorf("condition %+v at generation %d", c, gen)
			}
			return nil
		})
		Eventually(t, 20*time.Second, "traffic to split between v1 and v3", func() error {
			got := Count(ctx, client, 100)
			if got.Failed > 0 || got.ByBackend["reviews-v1"] < 25 || got.ByBackend["reviews-v3-0"] < 25 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
	})

	t.Run("a route config a proxy refuses is an Event on its rule", func(t *testing.T) {
		// An Envoy that cannot take this rule's routes (an Envoy too old for a field, say) refuses
		// every route config; the operator reads why on the VirtualService itself.
		conn, err := grpc.NewClient(pilot.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		refusing, err := adsc.Dial(ctx, conn, adsc.Options{NodeID: "sidecar~10.1.0.77~old-envoy.default~default.svc.cluster.local",
			Reject: func(typeURL string, _ []proto.Message) error {
				if typeURL == resourcev3.RouteType {
					return errors.New("route config reviews.default.svc.cluster.local:9080: unknown field in this Envoy")
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer refusing.Close()
		Eventually(t, 20*time.Second, "a ProxyRejected Warning event on the VirtualService", func() error {
			out, _, err := b.cluster.Kubectl(t, "get", "events", "-n", "default",
				"--field-selector", "involvedObject.name=reviews,involvedObject.kind=VirtualService,reason=ProxyRejected,type=Warning",
				"-o", "jsonpath={.items[*].message}")
			if err != nil || !strings.Contains(out, "old-envoy") || !strings.Contains(out, "unknown field in this Envoy") {
				return fmt.Errorf("no event naming the proxy and its reason yet: %q (%v)", out, err)
			}
			return nil
		})
	})
}
