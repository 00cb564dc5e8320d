package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubemesh"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model/modeltest"
)

// ApplyMesh writes a generated mesh into a real API server as `xds-load --write-kube` does
// (Services, Pods with their status, EndpointSlices, rules), so that minipilot and istiod serve the
// same objects and the load tool's scenarios can change them. The CRDs must be served
// (PrepareIstio, or kubefixture.InstallCRDs for minipilot alone).
func ApplyMesh(t testing.TB, c *kubetest.Cluster, spec modeltest.MeshSpec) {
	t.Helper()
	if err := spec.Check(); err != nil {
		t.Fatalf("ApplyMesh: %v", err)
	}
	began := time.Now()
	w, err := kubemesh.New(kubefixture.Config(c))
	if err != nil {
		t.Fatalf("ApplyMesh: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := w.Setup(ctx, spec.NamespaceNames(), spec.Objects()); err != nil {
		t.Fatalf("ApplyMesh: %v", err)
	}
	t.Logf("ApplyMesh: %d services × %d endpoints written in %s", spec.Services, spec.Endpoints, time.Since(began).Round(time.Millisecond))
}
