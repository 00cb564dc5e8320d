package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// TestOperateAKubeCluster is the first hour with a cluster, on one API server: pilot started with
// nothing but --kubeconfig, in a cluster without istio-system, writes rule statuses (its Lease is in
// its own namespace) without a stack trace in its log; pilotctl shows the proxy, analyzes the
// cluster alone and with a change on top, and previews that change; and the deployment manifests
// pass a server-side dry run in a namespace that enforces the restricted Pod Security Standard.
func TestOperateAKubeCluster(t *testing.T) {
	c := kubetest.Start(t)
	kubefixture.InstallCRDs(t, c)
	client := kubefixture.Client(t, c)
	dyn, err := dynamic.NewForConfig(kubefixture.Config(c))
	if err != nil {
		t.Fatal(err)
	}
	kubefixture.Namespace(t, client, "default")
	b := &kubeBookinfo{cluster: c, client: client, dyn: dyn, pods: map[string]*corev1.Pod{}}
	b.service = kubefixture.Service(t, client, "default", "reviews", map[string]string{"app": "reviews"},
		corev1.ServicePort{Name: "grpc", Port: 9080, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolTCP})
	for name, host := range map[string]int{"reviews-v1": 21, "reviews-v2": 22} {
		b.pods[name] = kubefixture.CreatePod(t, client, "default", kubefixture.Pod{Name: name, IP: "10.1.0." + strconv.Itoa(host), Ready: true,
			Labels: map[string]string{"app": "reviews", "version": strings.TrimPrefix(name, "reviews-")}})
	}
	var eps []kubefixture.Endpoint
	for _, name := range []string{"reviews-v1", "reviews-v2"} {
		eps = append(eps, kubefixture.Endpoint{Pod: b.pods[name], Ready: true})
	}
	kubefixture.ApplySlice(t, client, kubefixture.EndpointSlice(b.service, "reviews-x7k2p", eps...))
	kubefixture.Apply(t, c, routing(split8020))

	p := StartPilot(t, "--kubeconfig", c.Kubeconfig)
	Eventually(t, 30*time.Second, "the VirtualService's status", func() error {
		_, _, err := b.vsCondition()
		return err
	})
	if logs := p.Logs(); strings.Contains(logs, "stacktrace") || strings.Contains(logs, "error retrieving resource lock") {
		t.Errorf("pilot's log has a stack trace or lease errors:\n%s", logs)
	}

	const node = "sidecar~10.1.0.5~productpage-v1.default~default.svc.cluster.local"
	connectSidecar(t, p.GRPCAddr, node, map[string]any{"NAMESPACE": "default"})
	eventuallyCtl(t, p, regexp.MustCompile(regexp.QuoteMeta(node)+`\s+default\s+SotW\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED`), "proxy-status")

	if out := ctl(t, p, "proxy-config", "clusters", "productpage-v1.default"); !regexp.MustCompile(`reviews\.default\.svc\.cluster\.local\s+9080\s+v1\s+outbound\s+EDS`).MatchString(out) {
		t.Errorf("proxy-config clusters lacks reviews' v1 subset:\n%s", out)
	}
	if out := ctl(t, p, "trace"); !regexp.MustCompile(regexp.QuoteMeta(node) + `\s+\d+\s+CDS\s+\+\S+\s+\+\S+`).MatchString(out) {
		t.Errorf("trace of the push the proxy connected in lacks its CDS:\n%s", out)
	}
	if out := ctl(t, p, "analyze", "--kubeconfig", c.Kubeconfig); !strings.Contains(out, "No validation issues found") {
		t.Errorf("analyze of the cluster:\n%s", out)
	}
	change := filepath.Join(t.TempDir(), "change.yaml")
	if err := os.WriteFile(change, []byte(routing(`    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v3}, weight: 50}
`)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ctlCode(t, p, "analyze", "--kubeconfig", c.Kubeconfig, "-f", change)
	// IST0173 and no IST0101: the cluster's service and pods were read, and the change's v3 has none.
	if code := exitCode(err); code != 3 || !strings.Contains(out, `[IST0173] (VirtualService default/reviews`) || strings.Contains(out, "IST0101") {
		t.Errorf("analyze of a change to a subset without pods: exit %d, want 3 and IST0173:\n%s", code, out)
	}
	if out := ctl(t, p, "preview", "-f", change, "--node", node); !strings.Contains(out, `+                   "name": "outbound|9080|v3|reviews.default.svc.cluster.local",`) {
		t.Errorf("preview of the change lacks the new v3 destination:\n%s", out)
	}

	// The deployment manifests: the namespace for real, the rest as a dry run the API server checks.
	manifests := filepath.Join("..", "..", "examples", "kubernetes")
	if _, stderr, err := c.Kubectl(t, "apply", "-f", filepath.Join(manifests, "00-namespace.yaml")); err != nil {
		t.Fatalf("kubectl apply 00-namespace.yaml: %v\n%s", err, stderr)
	}
	stdout, stderr, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", manifests)
	if err != nil || strings.Contains(stderr, "violate PodSecurity") || !strings.Contains(stdout, "deployment.apps/minipilot created (server dry run)") {
		t.Errorf("kubectl apply --dry-run=server -f examples/kubernetes: %v\n%s\n%s", err, stdout, stderr)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
