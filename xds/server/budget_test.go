package server_test

import (
	"context"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/xds/server"
)

// TestSendBudgetHeldUntilAnswered: a response counts against the send budget until its
// client answers it, so what the server holds for slow clients is bounded. With a budget of one
// byte, a response left unanswered keeps every other stream waiting, until its stream ends or it has
// been held too long; then the others are served.
func TestSendBudgetHeldUntilAnswered(t *testing.T) {
	for _, release := range []string{"stream ends", "held too long"} {
		t.Run(release, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Now())
			f := startWith(t, bookinfo(), server.Options{Clock: clk, SendBudget: 1, StageTimeout: time.Minute})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			silent := f.rawStream(ctx, "sidecar~10.1.0.70~silent.default~default.svc.cluster.local", nil)
			silent.ask(resourcev3.ClusterType)
			if silent.next(resourcev3.ClusterType, 10*time.Second) == nil {
				t.Fatal("the first stream got no clusters")
			}
			// It never answers: its response holds the whole budget.
			waiting := f.rawStream(context.Background(), "sidecar~10.1.0.71~waiting.default~default.svc.cluster.local", nil)
			waiting.ask(resourcev3.ClusterType)
			if resp := waiting.next(resourcev3.ClusterType, 300*time.Millisecond); resp != nil {
				t.Fatal("a second stream was sent clusters while an unanswered response held the budget")
			}
			if release == "stream ends" {
				cancel()
			} else {
				clk.Step(11 * time.Second) // past the hold: the ticker gives the budget back
			}
			if waiting.next(resourcev3.ClusterType, 10*time.Second) == nil {
				t.Fatalf("the waiting stream was never served once the budget came back (%s)", release)
			}
		})
	}
}
