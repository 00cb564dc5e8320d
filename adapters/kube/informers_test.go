package kube

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/minipilot/minipilot/adapters/k8s"
)

// What the informers cache is what is read: `kubectl apply`'s copy of an object goes (from typed
// objects and from rules alike), the annotations that are read stay, and a Pod is cached as the
// k8s.PodInfo conversion reads: its name, labels and IP only.
func TestSlimKeepsWhatIsRead(t *testing.T) {
	applied := map[string]string{lastApplied: `{"a whole":"copy"}`, "networking.istio.io/exportTo": "."}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Annotations: maps.Clone(applied),
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	if _, err := slim(svc); err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.Annotations[lastApplied]; ok || svc.Annotations["networking.istio.io/exportTo"] != "." || svc.ManagedFields != nil {
		t.Errorf("service after slim: annotations %v, managed fields %v", svc.Annotations, svc.ManagedFields)
	}

	vs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "r", "annotations": map[string]any{lastApplied: "{}", "note": "kept"}},
		"spec":     map[string]any{"hosts": []any{"r"}}}}
	stored, err := slim(vs)
	if err != nil {
		t.Fatal(err)
	}
	r := ruleOf(stored)
	if r == nil {
		t.Fatalf("rule after slim is a %T, want a storedRule", stored)
	}
	if a := r.GetAnnotations(); len(a) != 1 || a["note"] != "kept" {
		t.Errorf("rule after slim: annotations %v, want only note", a)
	}
	if string(r.spec) != `{"hosts":["r"]}` || r.Object["spec"] != nil {
		t.Errorf("rule after slim: spec %s, object %v; want the spec as JSON only", r.spec, r.Object)
	}
	if again, err := slim(stored); err != nil || again != stored || string(ruleOf(again).spec) != string(r.spec) {
		t.Errorf("slim of a slimmed rule gave %v, %v; want it as it was", again, err) // client-go may transform twice
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", ResourceVersion: "7", Labels: map[string]string{"app": "a"},
		Annotations: maps.Clone(applied), OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs"}}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady}}}}
	cached, err := slim(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := &k8s.PodInfo{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", ResourceVersion: "7", Labels: map[string]string{"app": "a"}},
		IP: "198.18.0.1"}
	if !reflect.DeepEqual(cached, want) {
		t.Errorf("pod after slim: %#v, want %#v", cached, want)
	}
	if again, err := slim(cached); err != nil || again != cached {
		t.Errorf("slim of a slimmed pod gave %v, %v; want it as it was", again, err)
	}
}

// An EndpointSlice is cached with what conversion reads only.
func TestSlimEndpointSliceKeepsWhatIsRead(t *testing.T) {
	ready, yes := true, true
	node, zone, host, port := "node-1", "z1", "h", int32(80)
	labels := map[string]string{discoveryv1.LabelServiceName: "reviews"}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews-abc", Namespace: "n", ResourceVersion: "9", UID: "u", GenerateName: "reviews-",
			Labels: labels, Annotations: map[string]string{"endpoints.kubernetes.io/last-change-trigger-time": "now"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Service", Name: "reviews"}}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port}},
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"198.18.0.1"},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &yes, Terminating: &yes},
			Hostname:   &host, NodeName: &node, Zone: &zone,
			Hints:     &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z1"}}},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "n", Name: "reviews-1", UID: "pod-uid", ResourceVersion: "3", APIVersion: "v1"},
		}},
	}
	out, err := slim(es)
	if err != nil || out != es {
		t.Fatalf("slim gave %v, %v", out, err)
	}
	want := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "reviews-abc", Namespace: "n", ResourceVersion: "9", Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port}},
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"198.18.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName: &node, Zone: &zone, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "n", Name: "reviews-1"},
		}},
	}
	if !reflect.DeepEqual(es, want) {
		t.Errorf("slice after slim:\n%#v\nwant\n%#v", es, want)
	}
}
