package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// IstiodMeshConfig is the `mesh` key of the `istio` ConfigMap PrepareIstio writes: what the istiod
// chart (manifests/charts/istio-control/istio-discovery) writes for a default install. istiod serves
// without it, on built-in defaults that differ in one way that matters here: the chart turns on the
// Prometheus metrics provider, which puts Istio's stats filter into every HTTP listener. The
// comparison is with istiod as installed.
const IstiodMeshConfig = `defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
`

// PrepareIstio makes a kubetest cluster what istiod expects: Istio's CRDs (bin/istio-crds.yaml, all of
// them, served; they include the networking.istio.io kinds minipilot reads, so minipilot serves the
// same cluster without its own), the istio-system namespace and the `istio` ConfigMap with the mesh
// config. Skipped like StartIstiod when the Istio files are not built.
func PrepareIstio(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	crds := IstioFile(t, "istio-crds.yaml")
	// Server-side: several of Istio's CRDs are larger than the 256 KiB a client-side apply can keep
	// in its last-applied annotation.
	if _, stderr, err := c.Kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", crds); err != nil {
		t.Fatalf("kubectl apply -f %s: %v\n%s", crds, err, stderr)
	}
	waitIstioCRDsServed(t, c)

	client := kubefixture.Client(t, c)
	kubefixture.Namespace(t, client, IstiodNamespace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "istio", Namespace: IstiodNamespace},
		Data: map[string]string{"mesh": IstiodMeshConfig, "meshNetworks": "networks: {}\n"}}
	if _, err := client.CoreV1().ConfigMaps(IstiodNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the istio ConfigMap: %v", err)
	}
}

// waitIstioCRDsServed waits until every *.istio.io CRD is Established and the networking.istio.io
// kinds show in discovery, which is what a client (kubectl apply, an informer) needs.
func waitIstioCRDsServed(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(kubefixture.Config(c))
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	Eventually(t, 60*time.Second, "Istio's CRDs to be Established", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := crds.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		istio := 0
		for _, crd := range list.Items {
			if !strings.HasSuffix(crd.GetName(), ".istio.io") {
				continue
			}
			istio++
			if !crdEstablished(crd) {
				return fmt.Errorf("%s is not Established yet", crd.GetName())
			}
		}
		if istio == 0 {
			return fmt.Errorf("no *.istio.io CRD found")
		}
		return nil
	})
	Eventually(t, 30*time.Second, "networking.istio.io to be served", func() error {
		out, _, err := c.Kubectl(t, "api-resources", "--api-group=networking.istio.io", "-o", "name")
		if err != nil {
			return err
		}
		for _, kind := range []string{"virtualservices", "destinationrules", "serviceentries", "gateways", "sidecars"} {
			if !strings.Contains(out, kind+".networking.istio.io") {
				return fmt.Errorf("%s not in discovery yet", kind)
			}
		}
		return nil
	})
}

func crdEstablished(crd unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, raw := range conditions {
		if m, ok := raw.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
