package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minipilot/minipilot/pilot/e2e"
)

// minipilot is a running bin/pilot-discovery (the built binary, no race detector, default
// debounce: what is measured is what users run).
type minipilot struct {
	XDSAddr, DebugAddr, LogPath string
	cmd                         *exec.Cmd
	exited                      chan struct{}
}

func startMinipilot(h *harness, bin, kubeconfig string) *minipilot {
	p := &minipilot{XDSAddr: e2e.FreeAddr(h), DebugAddr: e2e.FreeAddr(h), exited: make(chan struct{})}
	p.LogPath = filepath.Join(h.TempDir(), "pilot-discovery.log")
	log, err := os.Create(p.LogPath)
	if err != nil {
		h.Fatal(err)
	}
	p.cmd = exec.Command(bin, "--kubeconfig", kubeconfig, "--grpc-addr", p.XDSAddr, "--http-addr", p.DebugAddr,
		"--leader-election-namespace", e2e.IstiodNamespace)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		h.Fatalf("starting %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); log.Close(); close(p.exited) }()
	h.Cleanup(p.stop)
	e2e.Eventually(h, 90*time.Second, "minipilot to be ready (GET /readyz)", func() error {
		select {
		case <-p.exited:
			h.Fatalf("%s exited before it was ready; see %s", bin, p.LogPath)
		default:
		}
		resp, err := http.Get("http://" + p.DebugAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /readyz: %s", resp.Status)
		}
		return nil
	})
	return p
}

func (p *minipilot) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
