package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// TestKubeNotReadyUntilSynced: against a cluster without the routing CRDs the config source cannot
// sync, so /readyz stays 503 (and the log says why); once the CRDs are installed it turns 200.
func TestKubeNotReadyUntilSynced(t *testing.T) {
	c := kubetest.Start(t)
	httpAddr := FreeAddr(t)
	var logs syncBuffer
	cmd := exec.Command(Binary(t), "--kubeconfig", c.Kubeconfig, "--grpc-addr", FreeAddr(t), "--http-addr", httpAddr,
		"--leader-election-namespace", "default")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("pilot-discovery log:\n%s", logs.String())
		}
	})
	readyz := func() int {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	Eventually(t, 30*time.Second, "pilot to serve /readyz and warn about the CRDs", func() error {
		if code := readyz(); code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz answered %d, want 503", code)
		}
		if !strings.Contains(logs.String(), "the routing CRDs do not seem to be served") {
			return fmt.Errorf("no warning about the missing CRDs in the log yet")
		}
		return nil
	})
	time.Sleep(time.Second)
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d without the CRDs, want 503", code)
	}

	kubefixture.InstallCRDs(t, c)
	Eventually(t, 60*time.Second, "/readyz to turn 200 once the CRDs are served", func() error {
		if code := readyz(); code != http.StatusOK {
			return fmt.Errorf("/readyz answered %d", code)
		}
		return nil
	})
}
