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

// ScriptClient is a proxyless xDS client on a gRPC implementation other than grpc-go: a long-lived
// process (testdata/grpc_*_client.*) that keeps one channel per target for its whole life, so that
// it holds one ADS stream as an application would, and is driven over stdin/stdout one JSON line
// at a time. Its implementation's own log, with xDS client tracing on, is kept so that tests can
// read what it accepted and refused; it is printed if the test fails.
type ScriptClient struct {
	NodeID  string
	Impl    string // the implementation, as reports name it ("gRPC C core")
	Version string // the implementation's version, as the process reports it
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers *bufio.Scanner
	logs    *syncBuffer               // the implementation's log (stderr)
	nacks   func(log string) []string // the lines of its log that record a refusal
	mu      sync.Mutex                // one request at a time
}

// scriptSpec says how to run one implementation's client script.
type scriptSpec struct {
	impl  string
	argv  []string // the interpreter and the script
	env   []string // the implementation's tracing, beside GRPC_XDS_BOOTSTRAP
	nacks func(log string) []string
}

// startScriptClient runs spec's client bootstrapped to xdsAddr as a proxyless node in namespace
// default, and waits for it to say it is ready.
func startScriptClient(t testing.TB, spec scriptSpec, xdsAddr, nodeName string) *ScriptClient {
	t.Helper()
	c := &ScriptClient{NodeID: proxylessNodeID(nodeName), Impl: spec.impl, t: t, logs: &syncBuffer{}, nacks: spec.nacks}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap.json")
	data, err := json.Marshal(grpcBootstrap(xdsAddr, c.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bootstrap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(spec.argv[0], spec.argv[1:]...)
	c.cmd.Env = append(append(os.Environ(), "GRPC_XDS_BOOTSTRAP="+bootstrap), spec.env...)
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
			t.Logf("%s client log (%s):\n%s", c.Impl, c.NodeID, lastLines(c.logs.String(), 300))
		}
	})
	var hello struct {
		Ready   bool   `json:"ready"`
		Version string `json:"grpc_version"`
	}
	if err := c.read(&hello); err != nil || !hello.Ready {
		t.Fatalf("the %s client did not start: %v\n%s", c.Impl, err, c.logs.String())
	}
	c.Version = hello.Version
	return c
}

// needTool fails the test for a missing client tool, saying how to install it, or skips it where the
// environment variable allowSkip is 1.
func needTool(t testing.TB, allowSkip, why, install string) {
	t.Helper()
	if os.Getenv(allowSkip) == "1" {
		t.Skipf("%s; skipped as %s=1 says", why, allowSkip)
	}
	t.Fatalf("%s: run %s, or set %s=1 to skip", why, install, allowSkip)
}

// testdataScript is the path of a client script in testdata, beside this file.
func testdataScript(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// Count sends n UnaryCalls to target (an xds:/// URI) with the given metadata, one after another,
// and tallies which backend answered and the status codes.
func (c *ScriptClient) Count(target string, n int, md ...string) Tally {
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
		c.t.Fatalf("%s client: %v\n%s", c.Impl, err, c.logs.String())
	}
	var answer struct {
		Backends  map[string]int `json:"backends"`
		Codes     map[string]int `json:"codes"`
		LastError string         `json:"last_error"`
		Error     string         `json:"error"`
	}
	if err := c.read(&answer); err != nil || answer.Error != "" {
		c.t.Fatalf("%s client: %v %s", c.Impl, err, answer.Error)
	}
	tally := Tally{ByBackend: answer.Backends, Codes: map[codes.Code]int{}}
	if tally.ByBackend == nil {
		tally.ByBackend = map[string]int{}
	}
	if answer.LastError != "" {
		tally.LastError = fmt.Errorf("%s", answer.LastError)
	}
	for name, count := range answer.Codes {
		var code codes.Code
		if err := code.UnmarshalJSON([]byte(`"` + name + `"`)); err != nil {
			c.t.Fatalf("%s client: status %q: %v", c.Impl, name, err)
		}
		tally.Codes[code] += count
		if code != codes.OK {
			tally.Failed += count
		}
	}
	return tally
}

// Logs is what the implementation has logged so far.
func (c *ScriptClient) Logs() string { return c.logs.String() }

// NACKs are the lines of the implementation's log that record a refused response: none if it
// accepted everything it was sent.
func (c *ScriptClient) NACKs() []string { return c.nacks(c.logs.String()) }

// read decodes the next line the script writes.
func (c *ScriptClient) read(v any) error {
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
