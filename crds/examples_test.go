package crds_test

import (
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

const examplesDir = "../examples/kubernetes"

// testExamplesDryRun checks the deployment manifests against the real API server, then installs
// them and checks that the RBAC grants exactly what minipilot needs.
func testExamplesDryRun(t *testing.T, c *kubetest.Cluster) {
	// A server-side dry run creates nothing, so the objects in istio-system need the Namespace to
	// exist already.
	if out, stderr, err := c.Kubectl(t, "apply", "-f", examplesDir+"/00-namespace.yaml"); err != nil {
		t.Fatalf("creating the namespace: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", examplesDir)
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -f examples/kubernetes/: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"serviceaccount/minipilot", "clusterrole.rbac.authorization.k8s.io/minipilot",
		"role.rbac.authorization.k8s.io/minipilot-leader-election", "service/minipilot",
		"deployment.apps/minipilot", "poddisruptionbudget.policy/minipilot"} {
		if !strings.Contains(out, want+" ") {
			t.Errorf("dry run did not mention %s:\n%s", want, out)
		}
	}

	if out, stderr, err := c.Kubectl(t, "apply", "-f", examplesDir); err != nil {
		t.Fatalf("kubectl apply -f examples/kubernetes/: %v\n%s%s", err, out, stderr)
	}
	testRBAC(t, c)
	// The workloads that use the secure port (an Envoy sidecar, a proxyless gRPC client).
	if out, stderr, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", examplesDir+"/workload"); err != nil {
		t.Fatalf("kubectl apply --dry-run=server -f examples/kubernetes/workload/: %v\n%s%s", err, out, stderr)
	}
}

// testRBAC asks the API server's authorizer what minipilot's ServiceAccount may do.
func testRBAC(t *testing.T, c *kubetest.Cluster) {
	const sa = "system:serviceaccount:istio-system:minipilot"
	for _, tc := range []struct {
		verb, resource, namespace, subresource string
		allowed                                bool
	}{
		{"list", "services", "default", "", true},
		{"watch", "endpointslices.discovery.k8s.io", "default", "", true},
		{"get", "endpoints", "default", "", true},
		{"watch", "pods", "default", "", true},
		{"list", "nodes", "", "", true},
		{"watch", "virtualservices.networking.istio.io", "default", "", true},
		{"list", "gateways.networking.istio.io", "default", "", true},
		{"patch", "destinationrules.networking.istio.io", "default", "status", true},
		{"update", "serviceentries.networking.istio.io", "default", "status", true},
		{"create", "events", "default", "", true},
		{"create", "events.events.k8s.io", "default", "", true},
		{"create", "leases.coordination.k8s.io", "istio-system", "", true},
		{"update", "leases.coordination.k8s.io", "istio-system", "", true},
		// The secure xDS port: reviews of tokens and access, the CA's own Secret, the root's ConfigMaps.
		{"create", "tokenreviews.authentication.k8s.io", "", "", true},
		{"create", "subjectaccessreviews.authorization.k8s.io", "", "", true},
		{"get", "secrets/istio-ca-secret", "istio-system", "", true},
		{"create", "secrets", "istio-system", "", true},
		{"create", "configmaps", "default", "", true},
		{"update", "configmaps", "default", "", true},
		{"watch", "namespaces", "", "", true},
		// Never a user's spec, never other secrets, never leases elsewhere, never deletes.
		{"get", "secrets/db-password", "istio-system", "", false},
		{"list", "secrets", "istio-system", "", false},
		{"create", "secrets", "default", "", false},
		{"delete", "configmaps", "default", "", false},
		{"update", "virtualservices.networking.istio.io", "default", "", false},
		{"patch", "destinationrules.networking.istio.io", "default", "", false},
		{"create", "virtualservices.networking.istio.io", "default", "", false},
		{"delete", "gateways.networking.istio.io", "default", "", false},
		{"get", "secrets", "istio-system", "", false},
		{"create", "leases.coordination.k8s.io", "default", "", false},
		{"delete", "leases.coordination.k8s.io", "istio-system", "", false},
		{"update", "services", "default", "", false},
		{"delete", "pods", "default", "", false},
	} {
		args := []string{"auth", "can-i", tc.verb, tc.resource, "--as=" + sa}
		if tc.namespace != "" {
			args = append(args, "-n", tc.namespace)
		}
		if tc.subresource != "" {
			args = append(args, "--subresource="+tc.subresource)
		}
		// can-i exits 1 for "no", so its answer is read from stdout.
		out, stderr, _ := c.Kubectl(t, args...)
		got := strings.TrimSpace(out) == "yes"
		if got != tc.allowed || (!got && strings.TrimSpace(out) != "no") {
			t.Errorf("%s: got %q (%s), want allowed=%v", strings.Join(args[2:4], " ")+"/"+tc.subresource, out, stderr, tc.allowed)
		}
	}
}
