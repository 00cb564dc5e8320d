package kube

import (
	"context"
	"time"

	"go.uber.org/zap"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// waitUntilWritable returns once this replica could create or update the Lease (a dry run says),
// or false when ctx ends first. client-go's elector logs every failed attempt as an error, every
// RetryPeriod, forever: a missing namespace or a verb RBAC forbids would fill the log with the same
// line and its stack. Here it is said once, at warn level, with what to do, and retried quietly
// with a backoff (RetryPeriod doubling up to 30 s); that it works again is said once too.
func (l LeaderElection) waitUntilWritable(ctx context.Context, client kubernetes.Interface, meta metav1.ObjectMeta) bool {
	leases := client.CoordinationV1().Leases(meta.Namespace)
	delay, said := l.RetryPeriod, ""
	for {
		err := l.tryLease(ctx, leases, meta)
		if err == nil {
			if said != "" {
				l.Log.Info("the Lease can be written now; contending for it", zap.String("lease", meta.Namespace+"/"+meta.Name))
			}
			return true
		}
		if msg := leaseProblem(meta, err); msg != said {
			said = msg
			l.Log.Warn(msg+"; rule statuses are not written until then, retrying quietly",
				zap.String("lease", meta.Namespace+"/"+meta.Name), zap.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return false
		case <-l.Clock.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// tryLease asks the API server whether the Lease could be created (or, when it exists, read).
func (l LeaderElection) tryLease(ctx context.Context, leases interface {
	Create(context.Context, *coordinationv1.Lease, metav1.CreateOptions) (*coordinationv1.Lease, error)
	Get(context.Context, string, metav1.GetOptions) (*coordinationv1.Lease, error)
}, meta metav1.ObjectMeta) error {
	ctx, cancel := context.WithTimeout(ctx, l.RenewDeadline)
	defer cancel()
	_, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: meta}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if apierrors.IsAlreadyExists(err) {
		_, err = leases.Get(ctx, meta.Name, metav1.GetOptions{})
	}
	return err
}

// leaseProblem says in one line what stops this replica from taking the Lease.
func leaseProblem(meta metav1.ObjectMeta, err error) string {
	switch {
	case apierrors.IsNotFound(err):
		return "the namespace " + meta.Namespace + " of the leader-election Lease does not exist: create it, or point --leader-election-namespace at one that does"
	case apierrors.IsForbidden(err):
		return "RBAC forbids this replica to create or read Leases in " + meta.Namespace + ": grant get, create and update on coordination.k8s.io leases there"
	default:
		return "the leader-election Lease cannot be reached"
	}
}
