package kube

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/k8s"
)

// TestIndexReportsRefusedObjectsOnce: a Service the API server would refuse is left out of the part
// with a rejection whose source is the cluster, and is logged when it first appears, not again on
// every rebuild that other changes cause.
func TestIndexReportsRefusedObjectsOnce(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	x := newObjectIndex(k8s.Options{DomainSuffix: "cluster.local", Cluster: "c1",
		SourceOf: func(string, string, string) string { return "kube/c1" }}, zap.New(core))
	svc := func(name, rv string, port int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: rv},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "http", Port: port}}}}
	}
	set(x, x.services, "ns/bad", svc("bad", "1", 70000), true, sameVersion, x.converted.SetService)
	p := x.Part()
	if len(p.Rejections) != 1 || p.Rejections[0].Source != "kube/c1" || len(p.Services) != 1 || len(p.Services[0].Ports) != 0 {
		t.Fatalf("part %+v", p)
	}
	set(x, x.services, "ns/good", svc("good", "2", 80), true, sameVersion, x.converted.SetService)
	if p := x.Part(); len(p.Services) != 2 || len(p.Rejections) != 1 {
		t.Fatalf("part after an unrelated change %+v", p)
	}
	if n := logs.FilterMessage("object refused").Len(); n != 1 {
		t.Errorf("logged the refusal %d times, want once", n)
	}
}
