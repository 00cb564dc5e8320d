package kube

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestLeaseNamespaceMissingIsSaidOnce: while the Lease's namespace does not exist, the replica says
// so once, at warn level, retries quietly with a backoff, and goes on once the namespace is there.
func TestLeaseNamespaceMissingIsSaidOnce(t *testing.T) {
	client := fake.NewClientset()
	var missing atomic.Bool
	missing.Store(true)
	var attempts atomic.Int32
	client.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		attempts.Add(1)
		if missing.Load() {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "istio-system")
		}
		return false, nil, nil
	})
	core, logs := observer.New(zapcore.InfoLevel)
	clk := clocktesting.NewFakeClock(time.Now())
	l := LeaderElection{Namespace: "istio-system", RetryPeriod: time.Second, RenewDeadline: time.Second, Log: zap.New(core), Clock: clk}.withDefaults()
	done := make(chan bool)
	go func() {
		done <- l.waitUntilWritable(context.Background(), client, metav1.ObjectMeta{Namespace: "istio-system", Name: DefaultLeaseName})
	}()
	for i := range 5 {
		waitUntil(t, func() bool { return attempts.Load() == int32(i+1) && clk.HasWaiters() })
		if i == 4 {
			// Before the step that wakes the last retry: after it, that retry may run before this
			// goroutine does, fail, and wait on a clock nobody steps any more.
			missing.Store(false)
		}
		clk.Step(30 * time.Second)
	}
	if !<-done {
		t.Fatal("gave up")
	}
	warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 1 || warns[0].Stack != "" {
		t.Fatalf("%d warnings (want 1, without a stack): %v", len(warns), warns)
	}
	if got := logs.FilterMessage("the Lease can be written now; contending for it").Len(); got != 1 {
		t.Errorf("recovery said %d times, want once", got)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
