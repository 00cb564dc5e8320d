package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// TestQueueSurvivesAPanickingHandler: before, a panic in a handler ended the worker goroutine and the
// process with it. Now it is logged with the object's kind, namespace and name, the key is retried
// with backoff, and the keys behind it are handled.
func TestQueueSurvivesAPanickingHandler(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	q := newQueue("test", clock.RealClock{}, zap.New(core))
	handled := make(chan Key, 10)
	attempts := 0
	q.handlers = []Handler{func(_ context.Context, k Key) error {
		if k.Name == "crasher" {
			attempts++
			panic("boom")
		}
		handled <- k
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	q.add(Key{Kind: "Service", Namespace: "ns", Name: "crasher"})
	q.add(Key{Kind: "Service", Namespace: "ns", Name: "fine"})
	select {
	case k := <-handled:
		if k.Name != "fine" {
			t.Fatalf("handled %v", k)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the key after the panic was never handled: the worker died")
	}
	eventually(t, "the crasher retried", func() error {
		if n := q.q.NumRequeues(Key{Kind: "Service", Namespace: "ns", Name: "crasher"}); n == 0 {
			return fmt.Errorf("not requeued")
		}
		return nil
	})
	entries := logs.FilterMessage("handler panicked").All()
	if len(entries) == 0 {
		t.Fatal("the panic was not logged")
	}
	fields := entries[0].ContextMap()
	if fields["kind"] != "Service" || fields["namespace"] != "ns" || fields["name"] != "crasher" || fields["panic"] != "boom" ||
		!strings.Contains(fmt.Sprint(fields["stack"]), "panic_test.go") {
		t.Errorf("the log does not name the object, the panic and where: %v", fields)
	}
}

// TestConfigControllerRefusesARuleWhoseValidationPanics: a rule whose validation panics is refused
// like an invalid one (a rejection in the part, status Reconciled=False with InvalidSpec, a Warning
// Event) and the controller goes on with the other rules.
func TestConfigControllerRefusesARuleWhoseValidationPanics(t *testing.T) {
	vs := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
			"metadata": map[string]any{"name": name, "namespace": "default", "generation": int64(1)},
			"spec": map[string]any{"hosts": []any{"reviews"},
				"http": []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "reviews"}}}}}},
		}}
	}
	listKinds := map[schema.GroupVersionResource]string{}
	for kind, gvr := range ConfigResources {
		listKinds[gvr] = string(kind) + "List"
	}
	client := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, vs("crasher"), vs("fine"))
	recorder := &events.FakeRecorder{Events: make(chan string, 10)}
	status := NewStatusWriter(client, recorder, nil, testLog(t))
	status.SetLeading(true)
	c, err := NewConfigController(client, status, Options{Cluster: "c1", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.decodeConfig = func(meta model.Meta, spec json.RawMessage) (model.Config, []validation.Problem, error) {
		if meta.Name == "crasher" {
			var none []byte
			_ = none[len(meta.Name)] // a real runtime panic, not just panic(...)
		}
		return k8s.DecodeConfig(meta, spec)
	}
	store := newStore()
	run(t, store, "kube-config", c)

	eventually(t, "the fine rule in force and the crasher refused", func() error {
		p := c.Part()
		if len(p.VirtualServices) != 1 || p.VirtualServices[0].Name != "fine" {
			return fmt.Errorf("in force: %v", p.VirtualServices)
		}
		if len(p.Rejections) != 1 || p.Rejections[0].Name != "crasher" ||
			!strings.Contains(p.Rejections[0].Reason, "panic: runtime error: index out of range") {
			return fmt.Errorf("rejections: %+v", p.Rejections)
		}
		return nil
	})
	select {
	case e := <-recorder.Events:
		if !strings.HasPrefix(e, "Warning "+ReasonInvalidSpec) || !strings.Contains(e, "panic") {
			t.Errorf("event %q", e)
		}
	case <-time.After(waitTimeout):
		t.Error("no Warning Event for the crasher")
	}
	eventually(t, "the crasher's status", func() error {
		u, err := client.Resource(ConfigResources[model.KindVirtualService]).Namespace("default").Get(context.Background(), "crasher", metav1.GetOptions{})
		if err != nil {
			return err
		}
		conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		cond, _ := findCondition(conditions, ConditionReconciled)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != ReasonInvalidSpec {
			return fmt.Errorf("condition %+v", cond)
		}
		return nil
	})
}
