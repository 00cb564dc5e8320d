package kubemesh_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubemesh"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model/modeltest"
)

// TestWriterSetsUpAndChangesAMesh writes a small mesh into a real API server: Pods get their status,
// Services an allocated address, and a flap adds and removes an endpoint.
func TestWriterSetsUpAndChangesAMesh(t *testing.T) {
	c := kubetest.Start(t)
	kubefixture.InstallCRDs(t, c)
	w, err := kubemesh.FromKubeconfig(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spec := modeltest.MeshSpec{Services: 3, Endpoints: 2, Namespaces: 2, Rules: modeltest.RulesOne}
	if err := w.Setup(ctx, spec.NamespaceNames(), spec.Objects()); err != nil {
		t.Fatal(err)
	}
	if err := w.Check(ctx, spec.Objects()); err != nil {
		t.Fatal(err)
	}
	client := kubefixture.Client(t, c)
	pod, err := client.CoreV1().Pods("ns-0").Get(ctx, "svc-0-1", metav1.GetOptions{})
	if err != nil || pod.Status.PodIP != "10.1.0.1" || pod.Labels["version"] != "v2" {
		t.Fatalf("pod svc-0-1: %v %+v", err, pod)
	}
	svc, err := client.CoreV1().Services("ns-1").Get(ctx, "svc-1", metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP == "" {
		t.Fatalf("service svc-1: %v %+v", err, svc)
	}

	flap := spec.FlapWorkload(0)
	with := spec.ServiceObjects(0, flap)
	if err := w.Write(ctx, with, nil); err != nil {
		t.Fatal(err)
	}
	slice, err := client.DiscoveryV1().EndpointSlices("ns-0").Get(ctx, "svc-0", metav1.GetOptions{})
	if err != nil || len(slice.Endpoints) != 3 {
		t.Fatalf("slice with the flap endpoint: %v %+v", err, slice)
	}
	if err := w.Write(ctx, spec.ServiceObjects(0), with[len(with)-1:]); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("ns-0").Get(ctx, flap.Name, metav1.GetOptions{}); err == nil {
		t.Error("the flap pod must be gone")
	}
	if err := w.Write(ctx, nil, with[len(with)-1:]); err != nil {
		t.Errorf("removing what is gone must be no error: %v", err)
	}
}
