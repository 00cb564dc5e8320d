package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/adapters/meshconfig"
	"github.com/minipilot/minipilot/model"
)

// reviewsVS is a VirtualService splitting reviews between v1 and v2.
func reviewsVS(ns string, v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: %d}
    - {destination: {host: reviews, subset: v2}, weight: %d}
`, ns, v1, v2)
}

// reconciled reads the Reconciled condition of a VirtualService and the object's generation.
func reconciled(dyn dynamic.Interface, ns, name string) (*metav1.Condition, int64, error) {
	u, err := dyn.Resource(ConfigResources[model.KindVirtualService]).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, 0, err
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	c, _ := findCondition(conditions, ConditionReconciled)
	if c == nil {
		return nil, u.GetGeneration(), fmt.Errorf("no %s condition in %v", ConditionReconciled, u.Object["status"])
	}
	return c, u.GetGeneration(), nil
}

// waitCondition waits until the VirtualService's condition has the status for its current generation.
func waitCondition(t *testing.T, dyn dynamic.Interface, ns, name string, status metav1.ConditionStatus) *metav1.Condition {
	t.Helper()
	var cond *metav1.Condition
	eventually(t, fmt.Sprintf("%s=%s on %s/%s", ConditionReconciled, status, ns, name), func() error {
		c, gen, err := reconciled(dyn, ns, name)
		if err != nil {
			return err
		}
		if c.Status != status || c.ObservedGeneration != gen {
			return fmt.Errorf("condition %+v at generation %d", c, gen)
		}
		cond = c
		return nil
	})
	return cond
}

// weightsInForce is the weights of the reviews VirtualService in the model, with its generation.
func weightsInForce(snap *model.Snapshot, ns string) string {
	vs := snap.VirtualService(ns, "reviews")
	if vs == nil {
		return "none"
	}
	var w []string
	for _, r := range vs.Spec.HTTP[0].Route {
		w = append(w, fmt.Sprint(r.Weight))
	}
	return fmt.Sprintf("gen %d: %s", vs.Generation, strings.Join(w, "/"))
}

func eventsFor(t *testing.T, client kubernetes.Interface, ns, name, reason string) []string {
	t.Helper()
	list, err := client.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e.Type+": "+e.Note)
		}
	}
	return out
}

// TestConfigController: routing rules applied with kubectl reach the model; a rule the validator
// refuses leaves its last valid version in force, is listed as a rejection, gets Reconciled=False
// naming the field and a Warning Event; fixing it flips the condition back.
func TestConfigController(t *testing.T) {
	c := kubetest.Start(t)
	kubefixture.InstallCRDs(t, c)
	client := kubefixture.Client(t, c)
	dyn, err := dynamic.NewForConfig(kubefixture.Config(c))
	if err != nil {
		t.Fatal(err)
	}
	const ns = "routing"
	kubefixture.Namespace(t, client, ns)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	recorder, err := StartEventRecorder(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	status := NewStatusWriter(dyn, recorder, nil, testLog(t))
	status.SetLeading(true)
	cc, err := NewConfigController(dyn, status, Options{Cluster: "east", Namespaces: []string{ns}, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	store := newStore()
	run(t, store, "kube-config", cc)

	kubefixture.Apply(t, c, reviewsVS(ns, 80, 20))
	cond := waitCondition(t, dyn, ns, "reviews", metav1.ConditionTrue)
	if cond.Reason != ReasonAccepted || cond.ObservedGeneration != 1 {
		t.Fatalf("condition %+v, want Accepted at generation 1", cond)
	}
	eventually(t, "the rule in the model", func() error {
		if got := weightsInForce(store.Snapshot(), ns); got != "gen 1: 80/20" {
			return fmt.Errorf("in force: %s", got)
		}
		return nil
	})

	t.Run("a refused edit keeps the last valid version", func(t *testing.T) {
		kubefixture.Apply(t, c, reviewsVS(ns, 70, 20))
		cond := waitCondition(t, dyn, ns, "reviews", metav1.ConditionFalse)
		if cond.Reason != ReasonInvalidSpec || !strings.Contains(cond.Message, "spec.http[0].route: the weights of the destinations add up to 90") ||
			!strings.Contains(cond.Message, "last valid version (generation 1) stays in force") {
			t.Fatalf("condition %+v", cond)
		}
		snap := store.Snapshot()
		if got := weightsInForce(snap, ns); got != "gen 1: 80/20" {
			t.Fatalf("in force: %s, want the last valid version", got)
		}
		if len(snap.Rejections) != 1 || snap.Rejections[0].Source != "kube/east" || snap.Rejections[0].Generation != 2 ||
			!strings.Contains(snap.Rejections[0].Reason, "spec.http[0].route") {
			t.Fatalf("rejections %+v", snap.Rejections)
		}
		eventually(t, "a Warning event naming the field", func() error {
			for _, e := range eventsFor(t, client, ns, "reviews", ReasonInvalidSpec) {
				if strings.HasPrefix(e, "Warning: spec.http[0].route") {
					return nil
				}
			}
			return fmt.Errorf("events: %v", eventsFor(t, client, ns, "reviews", ReasonInvalidSpec))
		})
	})

	t.Run("fixing it flips the condition back", func(t *testing.T) {
		kubefixture.Apply(t, c, reviewsVS(ns, 50, 50))
		cond := waitCondition(t, dyn, ns, "reviews", metav1.ConditionTrue)
		if cond.ObservedGeneration != 3 {
			t.Fatalf("condition %+v, want generation 3", cond)
		}
		eventually(t, "the fixed rule in force, no rejection", func() error {
			snap := store.Snapshot()
			if got := weightsInForce(snap, ns); got != "gen 3: 50/50" || len(snap.Rejections) != 0 {
				return fmt.Errorf("in force %s, rejections %+v", got, snap.Rejections)
			}
			return nil
		})
		eventually(t, "a Normal event for the recovery", func() error {
			if e := eventsFor(t, client, ns, "reviews", ReasonAccepted); len(e) == 0 {
				return fmt.Errorf("no %s event", ReasonAccepted)
			}
			return nil
		})
	})

	t.Run("a rule never valid is not applied", func(t *testing.T) {
		kubefixture.Apply(t, c, strings.ReplaceAll(reviewsVS(ns, 10, 10), "name: reviews,", "name: broken,"))
		cond := waitCondition(t, dyn, ns, "broken", metav1.ConditionFalse)
		if !strings.Contains(cond.Message, "the rule is not applied") {
			t.Fatalf("condition %+v", cond)
		}
		if store.Snapshot().VirtualService(ns, "broken") != nil {
			t.Fatal("a never-valid rule is in force")
		}
	})

	t.Run("deleted rules leave the model", func(t *testing.T) {
		if _, stderr, err := c.Kubectl(t, "delete", "-n", ns, "virtualservice", "reviews", "broken"); err != nil {
			t.Fatalf("kubectl delete: %v\n%s", err, stderr)
		}
		eventually(t, "the rules to go", func() error {
			snap := store.Snapshot()
			if len(snap.VirtualServices) != 0 || len(snap.Rejections) != 0 {
				return fmt.Errorf("still %d rules and %d rejections", len(snap.VirtualServices), len(snap.Rejections))
			}
			return nil
		})
	})

	t.Run("a Sidecar reaches the model; the API server refuses a bad host form", func(t *testing.T) {
		kubefixture.Apply(t, c, `apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: `+ns+`}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`)
		eventually(t, "the Sidecar in the model", func() error {
			sc := store.Snapshot().SidecarFor(ns, nil)
			if sc == nil || sc.Spec.OutboundTrafficPolicy.Mode != model.RegistryOnly {
				return fmt.Errorf("in force: %+v", sc)
			}
			return nil
		})
		stderr, err := kubefixture.TryApply(t, c, `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: bad, namespace: `+ns+`}
spec:
  egress: [{hosts: ["reviews.default.svc.cluster.local"]}]
`)
		if err == nil || !strings.Contains(stderr, "spec.egress[0].hosts[0]") {
			t.Fatalf("a host without a namespace part must be refused by the schema, got %v: %s", err, stderr)
		}
	})

	t.Run("the mesh ConfigMap is watched", func(t *testing.T) {
		kubefixture.Namespace(t, client, "istio-system")
		src := meshconfig.NewSource(testLog(t))
		reg := store.Register("meshconfig", src)
		mctx, mcancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- RunMeshConfigMap(mctx, client, "istio-system", "istio", src, reg) }()
		t.Cleanup(func() { mcancel(); <-done })
		eventually(t, "the defaults without a ConfigMap", func() error {
			if !store.Synced() || store.Snapshot().Mesh().OutboundTrafficPolicy != model.AllowAny {
				return fmt.Errorf("synced %v", store.Synced())
			}
			return nil
		})
		kubefixture.Apply(t, c, `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    rootNamespace: istio-config
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`)
		eventually(t, "the ConfigMap's mesh config", func() error {
			if m := store.Snapshot().Mesh(); m.RootNamespace != "istio-config" || m.OutboundTrafficPolicy != model.RegistryOnly {
				return fmt.Errorf("in force: %+v", m)
			}
			return nil
		})
		kubefixture.Apply(t, c, `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: "outboundTrafficPolicy: {mode: SOMETIMES}"
`)
		eventually(t, "the refusal", func() error {
			snap := store.Snapshot()
			if snap.Mesh().OutboundTrafficPolicy != model.RegistryOnly || !slices.ContainsFunc(snap.Rejections, func(r model.Rejection) bool { return r.Kind == "MeshConfig" }) {
				return fmt.Errorf("in force %+v, rejections %v", snap.Mesh(), snap.Rejections)
			}
			return nil
		})
		if _, stderr, err := c.Kubectl(t, "delete", "-n", "istio-system", "configmap", "istio"); err != nil {
			t.Fatalf("kubectl delete: %v\n%s", err, stderr)
		}
		eventually(t, "the defaults again", func() error {
			if m := store.Snapshot().Mesh(); m.RootNamespace != model.DefaultRootNamespace {
				return fmt.Errorf("in force: %+v", m)
			}
			return nil
		})
	})
}
