package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// The C core client is Debian's python3-grpcio run by the system's Python (not a pyenv or virtualenv
// one, which would not see Debian's package); `make grpc-core` installs it.
const (
	corePython           = "/usr/bin/python3"
	envAllowSkipGRPCCore = "MINIPILOT_ALLOW_SKIP_GRPC_CORE"
)

// CoreClient is a proxyless xDS client on gRPC's C core (the core of C++, Python, Ruby and PHP): a
// Python process running testdata/grpc_core_client.py, which keeps one channel per target for its
// whole life, so that it holds one ADS stream as an application would.
type CoreClient struct {
	NodeID  string
	Version string // grpcio's version, as the process reports it
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers *bufio.Scanner
	logs    *syncBuffer // the core's own log (stderr), with xds_client tracing
	mu      sync.Mutex  // one request at a time
}

// StartCoreClient runs the C core client bootstrapped to xdsAddr as a proxyless node in namespace
// default. The core logs its xDS client at debug level (GRPC_TRACE=xds_client), so that its log says
// what it accepted and refused; the log is printed if the test fails. Without python3-grpcio the
// test fails, or is skipped with MINIPILOT_ALLOW_SKIP_GRPC_CORE=1.
func StartCoreClient(t testing.TB, xdsAddr, nodeName string) *CoreClient {
	t.Helper()
	if err := exec.Command(corePython, "-c", "import grpc").Run(); err != nil {
		if os.Getenv(envAllowSkipGRPCCore) == "1" {
			t.Skipf("%s cannot import grpc (%v); skipped as %s=1 says", corePython, err, envAllowSkipGRPCCore)
		}
		t.Fatalf("%s cannot import grpc (%v): run `make grpc-core` (apt-get install python3-grpcio), or set %s=1 to skip", corePython, err, envAllowSkipGRPCCore)
	}
	c := &CoreClient{NodeID: proxylessNodeID(nodeName), t: t, logs: &syncBuffer{}}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap.json")
	data, err := json.Marshal(grpcBootstrap(xdsAddr, c.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bootstrap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(corePython, coreClientScript())
	c.cmd.Env = append(os.Environ(), "GRPC_XDS_BOOTSTRAP="+bootstrap, "GRPC_TRACE=xds_client", "GRPC_VERBOSITY=debug")
	c.cmd.Stderr = c.logs
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.answers = bufio.NewScanner(stdout)
	c.answers.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.stdin.Close() // the script ends at the end of its input
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("gRPC C core client log (%s):\n%s", c.NodeID, lastLines(c.logs.String(), 300))
		}
	})
	var hello struct {
		Ready   bool   `json:"ready"`
		Version string `json:"grpc_version"`
	}
	if err := c.read(&hello); err != nil || !hello.Ready {
		t.Fatalf("the C core client did not start: %v\n%s", err, c.logs.String())
	}
	c.Version = hello.Version
	return c
}

// coreClientScript is the client script's path, beside this file.
func coreClientScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "grpc_core_client.py")
}

// Count sends n UnaryCalls to target (an xds:/// URI) with the given metadata, one after another,
// and tallies which backend answered and the status codes.
func (c *CoreClient) Count(target string, n int, md ...string) Tally {
	c.t.Helper()
	pairs := [][2]string{}
	for i := 0; i+1 < len(md); i += 2 {
		pairs = append(pairs, [2]string{md[i], md[i+1]})
	}
	req, err := json.Marshal(map[string]any{"target": target, "n": n, "metadata": pairs, "timeout": 5})
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintf(c.stdin, "%s\n", req); err != nil {
		c.t.Fatalf("C core client: %v\n%s", err, c.logs.String())
	}
	var answer struct {
		Backends  map[string]int `json:"backends"`
		Codes     map[string]int `json:"codes"`
		LastError string         `json:"last_error"`
		Error     string         `json:"error"`
	}
	if err := c.read(&answer); err != nil || answer.Error != "" {
		c.t.Fatalf("C core client: %v %s", err, answer.Error)
	}
	tally := Tally{ByBackend: answer.Backends, Codes: map[codes.Code]int{}}
	if answer.LastError != "" {
		tally.LastError = fmt.Errorf("%s", answer.LastError)
	}
	for name, count := range answer.Codes {
		var code codes.Code
		if err := code.UnmarshalJSON([]byte(`"` + name + `"`)); err != nil {
			c.t.Fatalf("C core client: status %q: %v", name, err)
		}
		tally.Codes[code] += count
		if code != codes.OK {
			tally.Failed += count
		}
	}
	return tally
}

// Logs is what the core has logged so far.
func (c *CoreClient) Logs() string { return c.logs.String() }

// read decodes the next line the script writes.
func (c *CoreClient) read(v any) error {
	if !c.answers.Scan() {
		if err := c.answers.Err(); err != nil {
			return err
		}
		return fmt.Errorf("the client exited")
	}
	return json.Unmarshal(c.answers.Bytes(), v)
}

// lastLines keeps the end of a long log.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[%d lines before]\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], "\n"))
}
