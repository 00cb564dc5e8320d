package crds_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// TestCRDsWithAPIServer installs crds/ into a real kube-apiserver and checks what it accepts and
// refuses. One cluster serves every subtest: starting one is the slow part.
func TestCRDsWithAPIServer(t *testing.T) {
	c := kubetest.Start(t)

	// `kubectl apply -f crds/` is how users install them: it must take the directory as it is. The
	// fixture does exactly that, then waits until the API server serves the kinds.
	kubefixture.InstallCRDs(t, c)

	t.Run("valid", func(t *testing.T) { testValidManifests(t, c) })
	t.Run("refused", func(t *testing.T) { testRefused(t, c) })
	t.Run("acceptedBySchema", func(t *testing.T) { testAcceptedBySchema(t, c) })
	t.Run("examples", func(t *testing.T) { testExamplesDryRun(t, c) })
}

// apply runs `kubectl apply` (client-side, strict field validation: kubectl's defaults) on a YAML
// document and returns kubectl's combined output.
func apply(t *testing.T, c *kubetest.Cluster, doc string, extraArgs ...string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"apply", "-f", path}, extraArgs...)
	out, stderr, err := c.Kubectl(t, args...)
	return out + stderr, err
}

// manifest wraps a spec (YAML indented by two spaces, as written in the tables; none when empty)
// in an object of the given kind, version and name in the default namespace.
func manifest(version, kind, name, spec string) string {
	doc := "apiVersion: networking.istio.io/" + version + "\nkind: " + kind +
		"\nmetadata:\n  name: " + name + "\n  namespace: default\n"
	if spec == "" {
		return doc
	}
	return doc + "spec:\n" + strings.TrimLeft(spec, "\n") + "\n"
}
