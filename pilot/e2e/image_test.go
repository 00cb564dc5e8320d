package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
)

// EnvAllowSkipImage lets a machine without buildah skip the image test rather than fail it.
const EnvAllowSkipImage = "MINIPILOT_ALLOW_SKIP_IMAGE"

// TestImageServes builds the image with `make image` (buildah, offline, FROM scratch) and runs it
// with buildah: it holds the static binary alone (no shell), runs as UID 65532, and serves bookinfo
// from a mounted directory until /readyz says so.
func TestImageServes(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		if os.Getenv(EnvAllowSkipImage) == "1" {
			t.Skip("buildah is not installed; " + EnvAllowSkipImage + "=1")
		}
		t.Fatal("buildah is not installed (make image-tools installs it; " + EnvAllowSkipImage + "=1 skips this test)")
	}
	root, err := kubefixture.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const image = "localhost/minipilot/pilot-discovery:e2e"
	env := append(os.Environ(), "STORAGE_DRIVER=vfs", "BUILDAH_ISOLATION=chroot")
	buildah := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("buildah", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	mk := exec.Command("make", "--no-print-directory", "image", "IMAGE="+image)
	mk.Dir, mk.Env = root, env
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("buildah", "rmi", "-f", image).Run() })
	if cfg := buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}", image); cfg != "65532:65532 [/usr/local/bin/pilot-discovery]" {
		t.Errorf("image config: user and entrypoint %q", cfg)
	}
	ctr := buildah("from", image)
	t.Cleanup(func() { _ = exec.Command("buildah", "rm", ctr).Run() })
	if out := buildah("run", ctr, "--", "/usr/local/bin/pilot-discovery", "--version"); !strings.HasPrefix(out, "pilot-discovery ") {
		t.Errorf("--version in the image: %q", out)
	}
	if err := exec.Command("buildah", "run", ctr, "--", "/bin/sh", "-c", "true").Run(); err == nil {
		t.Error("the image has a shell")
	}

	// Serving: buildah's chroot isolation shares the host's network, so the test reaches it.
	p := &Pilot{GRPCAddr: FreeAddr(t), HTTPAddr: FreeAddr(t), t: t}
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "bookinfo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "buildah", "run", "-v", dir+":/config:ro", ctr, "--", "/usr/local/bin/pilot-discovery",
		"--config-dir", "/config", "--grpc-addr", p.GRPCAddr, "--http-addr", p.HTTPAddr)
	run.Env = env
	logs := &syncBuffer{}
	run.Stdout, run.Stderr = logs, logs
	run.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run.Process.Signal(syscall.SIGTERM); _ = run.Wait() }()
	Eventually(t, 30*time.Second, "pilot-discovery in the image to be ready", func() error {
		_, err := p.Get("/readyz")
		return err
	})
	if body, err := p.Get("/debug/registryz"); err != nil || !strings.Contains(string(body), "reviews.default.svc.cluster.local") {
		t.Errorf("the image's pilot does not serve bookinfo: %v %s\n%s", err, body, logs.String())
	}
}
