package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
)

// The condition the controller keeps on every routing rule it watches.
const (
	ConditionReconciled = "Reconciled"
	ReasonAccepted      = "Accepted"
	ReasonInvalidSpec   = "InvalidSpec"
	fieldManager        = "minipilot"
	maxEventNote        = 1000 // events.k8s.io refuses notes over 1 kB
)

// StatusWriter records, in the status of each routing rule, whether it was reconciled, and raises an
// Event when one is refused. Only the leader writes, so that replicas do not fight over statuses;
// every replica serves xDS regardless.
type StatusWriter struct {
	client   dynamic.Interface
	recorder events.EventRecorder
	clock    clock.Clock
	log      *zap.Logger

	leading atomic.Bool
	mu      sync.Mutex
	onLead  []func()
	writes  atomic.Int64 // status patches made, for tests and logs
}

// NewStatusWriter returns a writer that does nothing until SetLeading(true).
func NewStatusWriter(client dynamic.Interface, recorder events.EventRecorder, clk clock.Clock, log *zap.Logger) *StatusWriter {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &StatusWriter{client: client, recorder: recorder, clock: clk, log: log.With(zap.String("component", "status"))}
}

// SetLeading switches status writes on or off. On becoming leader every watched rule is checked again,
// since the previous leader may have left statuses stale.
func (s *StatusWriter) SetLeading(leading bool) {
	was := s.leading.Swap(leading)
	if leading == was {
		return
	}
	s.log.Info("status writes", zap.Bool("leading", leading))
	if leading {
		s.mu.Lock()
		fns := append([]func(){}, s.onLead...)
		s.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
}

// Leading says whether this replica writes statuses.
func (s *StatusWriter) Leading() bool { return s.leading.Load() }

// Writes counts the status patches this writer has made.
func (s *StatusWriter) Writes() int64 { return s.writes.Load() }

func (s *StatusWriter) onLeading(fn func()) {
	s.mu.Lock()
	s.onLead = append(s.onLead, fn)
	s.mu.Unlock()
}

// write brings the Reconciled condition of obj in line with the verdict on its current generation.
func (s *StatusWriter) write(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, e configEntry) error {
	if !s.leading.Load() || e.generation != obj.GetGeneration() {
		return nil // not ours to write, or a newer generation is queued and will be judged first
	}
	want := desiredCondition(obj.GetGeneration(), e)
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	current, index := findCondition(conditions, ConditionReconciled)
	if current != nil && current.Status == want.Status && current.Reason == want.Reason &&
		current.Message == want.Message && current.ObservedGeneration == want.ObservedGeneration {
		return nil
	}
	want.LastTransitionTime = metav1.NewTime(s.clock.Now().Truncate(time.Second))
	if current != nil && current.Status == want.Status {
		want.LastTransitionTime = current.LastTransitionTime
	}
	wantMap, err := toMap(want)
	if err != nil {
		return err
	}
	if index >= 0 {
		conditions[index] = wantMap
	} else {
		conditions = append(conditions, wantMap)
	}
	// The resourceVersion makes the patch conditional: if the object changed since it was read, the
	// API server refuses it and the key is retried against the newer object.
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion()},
		"status":   map[string]any{"observedGeneration": obj.GetGeneration(), "conditions": conditions},
	})
	if err != nil {
		return err
	}
	_, err = s.client.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: fieldManager}, "status")
	if err != nil {
		return fmt.Errorf("writing the status of %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	s.writes.Add(1)
	s.log.Info("status written", zap.String("kind", obj.GetKind()), zap.String("namespace", obj.GetNamespace()),
		zap.String("name", obj.GetName()), zap.Int64("generation", obj.GetGeneration()),
		zap.String("status", string(want.Status)), zap.String("reason", want.Reason))
	s.event(obj, current, want)
	return nil
}

// event tells users about refusals (each refused generation) and about recovering from one.
func (s *StatusWriter) event(obj *unstructured.Unstructured, previous *metav1.Condition, now metav1.Condition) {
	if s.recorder == nil {
		return
	}
	switch {
	case now.Status == metav1.ConditionFalse:
		s.recorder.Eventf(obj, nil, corev1.EventTypeWarning, now.Reason, "Validate", "%s", truncate(now.Message, maxEventNote))
	case previous != nil && previous.Status == metav1.ConditionFalse:
		s.recorder.Eventf(obj, nil, corev1.EventTypeNormal, now.Reason, "Validate", "%s", truncate(now.Message, maxEventNote))
	}
}

func desiredCondition(generation int64, e configEntry) metav1.Condition {
	c := metav1.Condition{Type: ConditionReconciled, ObservedGeneration: generation}
	if e.rejection == nil {
		c.Status, c.Reason = metav1.ConditionTrue, ReasonAccepted
		c.Message = fmt.Sprintf("generation %d is valid and in force", generation)
		return c
	}
	c.Status, c.Reason = metav1.ConditionFalse, ReasonInvalidSpec
	if e.inForce != nil {
		c.Message = fmt.Sprintf("%s; the last valid version (generation %d) stays in force",
			e.rejection.Reason, e.inForce.ConfigMeta().Generation)
	} else {
		c.Message = e.rejection.Reason + "; the rule is not applied"
	}
	return c
}

// findCondition decodes the condition of a type from an unstructured list, and says where it is.
func findCondition(conditions []any, typ string) (*metav1.Condition, int) {
	for i, raw := range conditions {
		m, ok := raw.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		var c metav1.Condition
		if err := runtimeFromMap(m, &c); err != nil {
			return nil, i // unreadable: overwrite it
		}
		return &c, i
	}
	return nil, -1
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func runtimeFromMap(m map[string]any, out any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// StartEventRecorder starts sending events.k8s.io Events to the API server until ctx ends.
func StartEventRecorder(ctx context.Context, client kubernetes.Interface) (events.EventRecorder, error) {
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		return nil, fmt.Errorf("starting the event recorder: %w", err)
	}
	context.AfterFunc(ctx, b.Shutdown)
	return b.NewRecorder(scheme.Scheme, "minipilot"), nil
}
