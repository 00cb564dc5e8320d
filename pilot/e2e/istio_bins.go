package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
)

// EnvRequireIstio makes a missing bin/istiod (or bin/istio-crds.yaml) fail a test rather than skip
// it, for a run that is meant to compare with istiod.
const EnvRequireIstio = "MINIPILOT_REQUIRE_ISTIO"

// IstioFile returns the path of a file `make istio-bins` builds into bin/ ($MINIPILOT_BIN_DIR, as
// for the kube binaries): istiod, istioctl or istio-crds.yaml. Those are slow to build and not
// part of `make test`, so a test without them is skipped, with the command that builds them,
// unless MINIPILOT_REQUIRE_ISTIO=1.
func IstioFile(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("MINIPILOT_BIN_DIR")
	if dir == "" {
		root, err := kubefixture.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	msg := path + " not found: run `make istio-bins` (a cold build takes tens of minutes; not part of make test)"
	if os.Getenv(EnvRequireIstio) == "1" {
		t.Fatal(msg + "; " + EnvRequireIstio + "=1 requires it")
	}
	t.Skip(msg + "; set " + EnvRequireIstio + "=1 to fail instead of skipping")
	return ""
}
