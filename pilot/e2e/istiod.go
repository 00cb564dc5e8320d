package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// IstiodNamespace is where istiod runs (POD_NAMESPACE) and reads its mesh config from.
const IstiodNamespace = "istio-system"

// IstiodRequestsPerSecond is what the harness sets PILOT_MAX_REQUESTS_PER_SECOND to by default. istiod
// admits new xDS streams through a token bucket of 15+5×cores per second with a burst of one (25/s on
// 2 cores), and a stream that waits more than a second for its token is refused: 500 sidecars take
// 20 s to be admitted, most after being refused and retrying. minipilot admits every stream at once,
// so the harness raises istiod's limit far above any rate a test reaches, and time-to-configure
// measures configuring, not the admission rate. (istiod reads 0 as "use the default", not as
// "unlimited".)
const IstiodRequestsPerSecond = 100000

// IstiodOptions tune StartIstiod. The zero value is what the side-by-side comparison uses.
type IstiodOptions struct {
	// RequestsPerSecond is PILOT_MAX_REQUESTS_PER_SECOND: 0 means IstiodRequestsPerSecond, a negative
	// value leaves istiod's own default (25 new streams a second on 2 cores).
	RequestsPerSecond int
	// Env is added to istiod's environment (PILOT_DEBOUNCE_AFTER=…, …); it wins over the defaults.
	Env []string
	// Dir receives istiod.log; a test's temp dir when empty.
	Dir string
}

// Istiod is a running istiod (bin/istiod, built by `make istio-bins`) serving a kubetest cluster.
type Istiod struct {
	// XDSAddr serves plaintext xDS (istiod's --grpcAddr, 15010 in a cluster).
	XDSAddr string
	// DebugAddr serves /ready and /debug/* (--httpAddr, 8080 in a cluster).
	DebugAddr string
	// MonitoringAddr serves /metrics (--monitoringAddr, 15014 in a cluster).
	MonitoringAddr string
	// LogPath is istiod's stdout and stderr.
	LogPath string

	cmd    *exec.Cmd
	exited chan struct{}
}

// StartIstiod runs istiod out of cluster against c, as `pilot-discovery discovery --kubeconfig` with
// only the plaintext xDS and debug servers (no CA, no webhooks), and waits until its /ready says it
// serves. The cluster must be prepared with PrepareIstio first. istiod is stopped when the test ends;
// its log is printed if the test failed. The test is skipped when bin/istiod is missing (see
// IstioFile).
func StartIstiod(t testing.TB, c *kubetest.Cluster, opts IstiodOptions) *Istiod {
	t.Helper()
	bin := IstioFile(t, "istiod")
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	d := &Istiod{XDSAddr: FreeAddr(t), DebugAddr: FreeAddr(t), MonitoringAddr: FreeAddr(t),
		LogPath: filepath.Join(dir, "istiod.log"), exited: make(chan struct{})}
	log, err := os.Create(d.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, d.args(c.Kubeconfig, dir)...)
	d.cmd.Env = append(os.Environ(), istiodEnv(opts)...)
	// A directory of its own: istiod looks for ./etc/istio/config/mesh and ./var/lib/istio/inject.
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting istiod: %v", err)
	}
	go func() { _ = d.cmd.Wait(); log.Close(); close(d.exited) }()
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("istiod log (%s):\n%s", d.LogPath, tailFile(d.LogPath, 16<<10))
		}
	})

	began := time.Now()
	Eventually(t, 90*time.Second, "istiod to be ready (GET /ready)", func() error {
		select {
		case <-d.exited:
			t.Fatalf("istiod exited before it was ready; log:\n%s", tailFile(d.LogPath, 16<<10))
		default:
		}
		return d.ready()
	})
	t.Logf("istiod ready in %s: xDS %s, debug http://%s, metrics http://%s/metrics, log %s",
		time.Since(began).Round(time.Millisecond), d.XDSAddr, d.DebugAddr, d.MonitoringAddr, d.LogPath)
	return d
}

func (d *Istiod) args(kubeconfig, dir string) []string {
	return []string{"discovery",
		"--kubeconfig", kubeconfig,
		"--grpcAddr", d.XDSAddr,
		"--httpAddr", d.DebugAddr,
		"--monitoringAddr", d.MonitoringAddr,
		"--secureGRPCAddr", "", // 15012 needs istiod's CA
		"--httpsAddr", "", // 15017: injection and validation webhooks
		"--ctrlz_port", "0", // any free port: two istiods on one machine must not fight over 9876
		"--meshConfig", filepath.Join(dir, "no-mesh-file"), // the `istio` ConfigMap, as in a cluster
		"--networksConfig", filepath.Join(dir, "no-networks-file"),
		"--shutdownDuration", "1s",
	}
}

func istiodEnv(opts IstiodOptions) []string {
	rps := opts.RequestsPerSecond
	if rps == 0 {
		rps = IstiodRequestsPerSecond
	}
	env := []string{
		"POD_NAMESPACE=" + IstiodNamespace,
		"ENABLE_CA_SERVER=false", // no CA: plaintext xDS only, as minipilot
	}
	if rps > 0 {
		env = append(env, "PILOT_MAX_REQUESTS_PER_SECOND="+strconv.Itoa(rps))
	}
	return append(env, opts.Env...)
}

func (d *Istiod) ready() error {
	resp, err := http.Get("http://" + d.DebugAddr + "/ready")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /ready: %s", resp.Status)
	}
	return nil
}

// Stop ends istiod with SIGTERM, or SIGKILL after 10 s. It is idempotent.
func (d *Istiod) Stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// Exited closes when istiod has exited.
func (d *Istiod) Exited() <-chan struct{} { return d.exited }

// tailFile returns about the last max bytes of a file, from a line start.
func tailFile(path string, max int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
		for i, c := range b {
			if c == '\n' {
				b = b[i+1:]
				break
			}
		}
	}
	return string(b)
}

// PID is istiod's process ID, e.g. to sample its RSS and CPU from /proc.
func (d *Istiod) PID() int { return d.cmd.Process.Pid }
