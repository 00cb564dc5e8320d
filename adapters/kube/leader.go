package kube

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// LeaderElection configures the election of the replica that writes statuses.
type LeaderElection struct {
	// Namespace and Name locate the coordination.k8s.io Lease.
	Namespace string
	Name      string
	// Identity names this replica in the Lease; DefaultIdentity is hostname_pid.
	Identity      string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Log           *zap.Logger
	// Clock paces the retries while the Lease cannot be written (leader_preflight.go).
	Clock clock.Clock
}

// DefaultLeaseName is the Lease the replicas of minipilot contend for.
const DefaultLeaseName = "minipilot-status-leader"

// DefaultIdentity is hostname_pid: unique among replicas, and telling in `kubectl get lease -o yaml`.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s_%d", host, os.Getpid())
}

func (l LeaderElection) withDefaults() LeaderElection {
	if l.Name == "" {
		l.Name = DefaultLeaseName
	}
	if l.Identity == "" {
		l.Identity = DefaultIdentity()
	}
	// client-go's recommended timings: a new leader within 15s of losing the old one.
	if l.LeaseDuration == 0 {
		l.LeaseDuration = 15 * time.Second
	}
	if l.RenewDeadline == 0 {
		l.RenewDeadline = 10 * time.Second
	}
	if l.RetryPeriod == 0 {
		l.RetryPeriod = 2 * time.Second
	}
	if l.Clock == nil {
		l.Clock = clock.RealClock{}
	}
	if l.Log == nil {
		l.Log = zap.NewNop()
	}
	l.Log = l.Log.With(zap.String("component", "leader-election"), zap.String("identity", l.Identity))
	return l
}

// Run contends for the Lease until ctx ends, switching w's status writes on while this replica leads.
// A replica that loses the lease (the API server was unreachable for too long) contends again. On
// shutdown the lease is released, so that another replica takes over at once.
func (l LeaderElection) Run(ctx context.Context, client kubernetes.Interface, w *StatusWriter) error {
	l = l.withDefaults()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: l.Identity},
	}
	if !l.waitUntilWritable(ctx, client, lock.LeaseMeta) {
		return nil
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   l.LeaseDuration,
			RenewDeadline:   l.RenewDeadline,
			RetryPeriod:     l.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            l.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					l.Log.Info("leading: this replica writes statuses", zap.String("lease", l.Namespace+"/"+l.Name))
					w.SetLeading(true)
				},
				OnStoppedLeading: func() { w.SetLeading(false) },
				OnNewLeader: func(id string) {
					if id != l.Identity {
						l.Log.Info("another replica leads", zap.String("leader", id))
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}
