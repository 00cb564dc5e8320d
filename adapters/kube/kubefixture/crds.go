package kubefixture

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// routingResources are the plural names of the networking.istio.io kinds.
var routingResources = []string{"virtualservices", "destinationrules", "serviceentries", "gateways", "sidecars"}

// InstallCRDs installs the networking.istio.io CRDs as a user would, with `kubectl apply -f crds/`
// from the repository root, and waits until the API server serves them.
func InstallCRDs(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("kubefixture: %v", err)
	}
	dir := filepath.Join(root, "crds")
	if m, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(m) == 0 {
		t.Fatalf("kubefixture: no CRD manifests (*.yaml) in %s", dir)
	}
	if _, stderr, err := c.Kubectl(t, "apply", "-f", dir); err != nil {
		t.Fatalf("kubefixture: kubectl apply -f %s: %v\n%s", dir, err, stderr)
	}
	waitEstablished(t, c)
	// Established precedes discovery by a moment; kubectl apply of a rule needs discovery.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, err := c.Kubectl(t, "api-resources", "--api-group=networking.istio.io", "-o", "name")
		if err == nil && strings.Count(out, ".networking.istio.io") >= len(routingResources) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubefixture: the networking.istio.io resources are not served: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RepoRoot is the closest ancestor of the working directory that holds a go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Apply runs `kubectl apply` on a YAML document, as a user would, and fails the test if it is refused.
func Apply(t testing.TB, c *kubetest.Cluster, manifest string) {
	t.Helper()
	if stderr, err := TryApply(t, c, manifest); err != nil {
		t.Fatalf("kubefixture: kubectl apply: %v\n%s\n%s", err, stderr, manifest)
	}
}

// TryApply runs `kubectl apply` on a YAML document and returns kubectl's stderr and error.
func TryApply(t testing.TB, c *kubetest.Cluster, manifest string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "apply-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(manifest); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, stderr, err := c.Kubectl(t, "apply", "-f", f.Name())
	return stderr, err
}

// waitEstablished polls the CRDs until each is Established. (`kubectl wait` fails outright when it
// looks before the API server has written the CRD's first condition.)
func waitEstablished(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(Config(c))
	if err != nil {
		t.Fatalf("kubefixture: %v", err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	deadline := time.Now().Add(60 * time.Second)
	for _, r := range routingResources {
		name := r + ".networking.istio.io"
		for !established(crds, name) {
			if time.Now().After(deadline) {
				t.Fatalf("kubefixture: CRD %s is not Established after 60s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func established(crds dynamic.NamespaceableResourceInterface, name string) bool {
	c, cancel := ctx()
	defer cancel()
	u, err := crds.Get(c, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conditions {
		if m, ok := raw.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
