package kube

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model"
)

// replica is one pilot's config controller, status writer and leader election, in process.
type replica struct {
	id     string
	status *StatusWriter
	store  *model.Store
	stop   func()
}

func startReplica(t *testing.T, c *kubetest.Cluster, id, ns string) *replica {
	t.Helper()
	client := kubefixture.Client(t, c)
	dyn, err := dynamic.NewForConfig(kubefixture.Config(c))
	if err != nil {
		t.Fatal(err)
	}
	log := testLog(t).With(zap.String("replica", id))
	r := &replica{id: id, status: NewStatusWriter(dyn, nil, nil, log), store: newStore()}
	cc, err := NewConfigController(dyn, r.status, Options{Cluster: "east", Namespaces: []string{ns}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reg := r.store.Register("kube-config", cc)
	done := make(chan struct{}, 2)
	go func() { _ = cc.Run(ctx, reg); done <- struct{}{} }()
	le := LeaderElection{Namespace: "istio-system", Identity: id, LeaseDuration: 4 * time.Second,
		RenewDeadline: 3 * time.Second, RetryPeriod: 200 * time.Millisecond, Log: log}
	go func() { _ = le.Run(ctx, client, r.status); done <- struct{}{} }()
	var once bool
	r.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		<-done
		<-done
	}
	t.Cleanup(r.stop)
	return r
}

func leaseHolder(t *testing.T, c *kubetest.Cluster) string {
	l, err := kubefixture.Client(t, c).CoordinationV1().Leases("istio-system").Get(context.Background(), DefaultLeaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestOnlyTheLeaderWritesStatus: of two replicas, both put a rule in their model (both serve xDS), but
// only the one holding the Lease writes its status; when it stops, it releases the Lease and the other
// takes over the status writes.
func TestOnlyTheLeaderWritesStatus(t *testing.T) {
	c := kubetest.Start(t)
	kubefixture.InstallCRDs(t, c)
	client := kubefixture.Client(t, c)
	dyn, err := dynamic.NewForConfig(kubefixture.Config(c))
	if err != nil {
		t.Fatal(err)
	}
	const ns = "routing"
	kubefixture.Namespace(t, client, ns)
	kubefixture.Namespace(t, client, "istio-system")

	a := startReplica(t, c, "replica-a", ns)
	eventually(t, "replica-a to lead", func() error {
		if !a.status.Leading() || leaseHolder(t, c) != "replica-a" {
			return fmt.Errorf("leading=%t, lease held by %q", a.status.Leading(), leaseHolder(t, c))
		}
		return nil
	})
	b := startReplica(t, c, "replica-b", ns)

	kubefixture.Apply(t, c, reviewsVS(ns, 80, 20))
	waitCondition(t, dyn, ns, "reviews", metav1.ConditionTrue)
	for _, r := range []*replica{a, b} {
		eventually(t, r.id+" to serve the rule", func() error {
			if got := weightsInForce(r.store.Snapshot(), ns); got != "gen 1: 80/20" {
				return fmt.Errorf("in force: %s", got)
			}
			return nil
		})
	}
	eventually(t, "the leader's write to be counted", func() error {
		if a.status.Writes() == 0 {
			return fmt.Errorf("replica-a wrote nothing")
		}
		return nil
	})
	if b.status.Writes() != 0 || b.status.Leading() {
		t.Fatalf("writes: leader %d, follower %d (follower leading: %t)", a.status.Writes(), b.status.Writes(), b.status.Leading())
	}

	a.stop()
	eventually(t, "replica-b to take over", func() error {
		if !b.status.Leading() || leaseHolder(t, c) != "replica-b" {
			return fmt.Errorf("leading=%t, lease held by %q", b.status.Leading(), leaseHolder(t, c))
		}
		return nil
	})
	kubefixture.Apply(t, c, reviewsVS(ns, 70, 20))
	writesBefore := a.status.Writes()
	cond := waitCondition(t, dyn, ns, "reviews", metav1.ConditionFalse)
	if cond.ObservedGeneration != 2 {
		t.Fatalf("condition %+v, want generation 2", cond)
	}
	// The object can be read back a moment before the writer's Patch call returns and is counted.
	eventually(t, "the new leader's write to be counted", func() error {
		if b.status.Writes() == 0 {
			return fmt.Errorf("replica-b wrote nothing")
		}
		return nil
	})
	if a.status.Writes() != writesBefore {
		t.Fatalf("the stopped replica wrote a status")
	}
}
