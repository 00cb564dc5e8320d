// Package e2e runs pilot-discovery as users do, as a built binary in its own process, and talks to it
// with real clients: grpc-go's xDS client making RPCs to real backends, and plain HTTP for the debug
// endpoints. The end-to-end tests of the file and Kubernetes adapters share it.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary builds pilot-discovery once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	return pilotDiscovery.path(t)
}

// Pilotctl builds pilotctl once per test process and returns its path.
func Pilotctl(t testing.TB) string {
	t.Helper()
	return pilotctl.path(t)
}

var (
	pilotDiscovery = &built{pkg: "github.com/minipilot/minipilot/pilot/cmd/pilot-discovery"}
	pilotctl       = &built{pkg: "github.com/minipilot/minipilot/pilot/cmd/pilotctl"}
	// buildDir holds the binaries the tests build; RemoveBuilt deletes it.
	buildDir struct {
		sync.Mutex
		path string
	}
)

// built is a binary of this module, built (with the race detector) once per test process.
type built struct {
	pkg  string
	once sync.Once
	bin  string
	err  error
}

func (b *built) path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = err
			return
		}
		b.bin = filepath.Join(dir, filepath.Base(b.pkg))
		args := []string{"build", "-race", "-o", b.bin}
		if overlay := os.Getenv(EnvBuildOverlay); overlay != "" {
			args = append(args, "-overlay", overlay)
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
			return
		}
		b.err = readSources(b.pkg)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

func binDir() (string, error) {
	buildDir.Lock()
	defer buildDir.Unlock()
	if buildDir.path == "" {
		dir, err := os.MkdirTemp("", "minipilot-e2e-")
		if err != nil {
			return "", err
		}
		buildDir.path = dir
	}
	return buildDir.path, nil
}

// RemoveBuilt deletes the binaries the tests built (TestMain calls it when the tests are done).
func RemoveBuilt() {
	buildDir.Lock()
	defer buildDir.Unlock()
	if buildDir.path != "" {
		_ = os.RemoveAll(buildDir.path)
		buildDir.path = ""
	}
}

// Pilot is a running pilot-discovery process.
type Pilot struct {
	GRPCAddr string
	HTTPAddr string
	cmd      *exec.Cmd
	logs     *syncBuffer
	args     []string
	t        testing.TB
	exited   chan struct{}
	// debugOnAll puts the debug listener on every interface (where /debug/ is guarded).
	debugOnAll bool
}

// StartPilot runs pilot-discovery with args (plus its listen addresses) and waits until /readyz
// says it serves. It is stopped when the test ends; its log is printed if the test failed.
func StartPilot(t testing.TB, args ...string) *Pilot {
	t.Helper()
	return startPilot(t, false, args...)
}

// StartPilotDebugOnAll is StartPilot with the debug listener on every interface, where /debug/ is
// guarded; it is still reached at HTTPAddr, on loopback.
func StartPilotDebugOnAll(t testing.TB, args ...string) *Pilot {
	t.Helper()
	return startPilot(t, true, args...)
}

func startPilot(t testing.TB, debugOnAll bool, args ...string) *Pilot {
	t.Helper()
	Binary(t) // built before addresses are chosen: the longer the wait, the likelier another takes them
	p := &Pilot{args: args, t: t, debugOnAll: debugOnAll}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() && p.logs != nil {
			t.Logf("pilot-discovery log:\n%s", p.logs.String())
		}
	})
	// A free port can be taken by another process between choosing it and binding it (tests run in
	// parallel on a shared machine): then start again on others.
	for attempt := 1; ; attempt++ {
		p.GRPCAddr, p.HTTPAddr = FreeAddr(t), FreeAddr(t)
		err := p.tryStart()
		if err == nil {
			return p
		}
		if attempt == 3 || !strings.Contains(p.logs.String(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func (p *Pilot) start() {
	p.t.Helper()
	if err := p.tryStart(); err != nil {
		p.t.Fatal(err)
	}
}

// tryStart starts the process and waits until it is ready; an error if it exits first.
func (p *Pilot) tryStart() error {
	p.t.Helper()
	// A short drain keeps restarts quick; a test that looks at the drain gives its own (the last wins).
	args := append([]string{"--grpc-addr", p.GRPCAddr, "--http-addr", p.HTTPAddr, "--debounce", "20ms", "--debounce-max", "200ms",
		"--shutdown-grace", "500ms"}, p.args...)
	if p.debugOnAll {
		_, port, _ := net.SplitHostPort(p.HTTPAddr)
		args = append(args, "--http-addr", ":"+port) // the last flag wins
	}
	if level := os.Getenv("E2E_PILOT_LOG_LEVEL"); level != "" {
		args = append(args, "--log-level", level) // E2E_PILOT_LOG_LEVEL=debug logs every request and response
	}
	p.logs = &syncBuffer{}
	p.cmd = exec.Command(Binary(p.t), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("pilot-discovery exited: %s", p.logs.String())
		default:
		}
		_, err := p.Get("/readyz")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pilot-discovery not ready after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the process gracefully (SIGTERM), or kills it after a grace period.
func (p *Pilot) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.Signal(syscall.SIGTERM)
	p.Wait()
}

// Signal sends the process a signal.
func (p *Pilot) Signal(sig os.Signal) { _ = p.cmd.Process.Signal(sig) }

// Exited closes when the process has exited.
func (p *Pilot) Exited() <-chan struct{} { return p.exited }

// Wait waits for the process to exit, killing it after 10 seconds.
func (p *Pilot) Wait() {
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Restart stops the process and starts it again on the same addresses.
func (p *Pilot) Restart() {
	p.t.Helper()
	p.Stop()
	p.start()
}

// Logs is what the process has written so far.
func (p *Pilot) Logs() string { return p.logs.String() }

// Get fetches a path from the HTTP endpoint; an error for any status other than 200.
func (p *Pilot) Get(path string) ([]byte, error) {
	resp, err := http.Get("http://" + p.HTTPAddr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// GetJSON fetches a path and decodes its JSON body into v.
func (p *Pilot) GetJSON(path string, v any) error {
	body, err := p.Get(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Eventually retries f until it returns nil, failing the test with f's last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's reads at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// EnvBuildOverlay names a `go build -overlay` file for the binaries the tests build: a test uses it
// to prove that a broken binary fails the tests that run it (TestABrokenPilotFailsTheE2ETests).
const EnvBuildOverlay = "MINIPILOT_E2E_BUILD_OVERLAY"

// readSources opens every Go file of this module that a binary is built from. The Go test cache
// records the files a test opens as its inputs, so a change to pilot-discovery's source makes
// `go test` run the e2e tests again rather than report them "(cached)", as it would for a binary
// built behind its back.
func readSources(pkg string) error {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/minipilot/minipilot"}}{{.Dir}}{{end}}{{end}}`, pkg).Output()
	if err != nil {
		return fmt.Errorf("listing the sources of %s: %w", pkg, err)
	}
	for _, dir := range strings.Fields(string(out)) {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return err
		}
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				return err
			}
		}
	}
	return nil
}
