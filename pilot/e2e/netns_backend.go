package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// envNetnsBackends tells a re-executed test binary to serve backends instead of running tests:
// "name=host:port;name=host:port".
const envNetnsBackends = "MINIPILOT_E2E_NETNS_BACKENDS"

// StartBackends serves grpc.testing.TestService inside the namespace, one backend per name on
// address .host at port, each answering with its name. They run in a child process (this test binary
// again, under `ip netns exec`), stopped when the test ends.
func (n *NetNS) StartBackends(port int, hosts map[string]int) []Backend {
	n.t.Helper()
	var specs []string
	var backends []Backend
	var addrs []int
	for name, h := range hosts {
		addr := net.JoinHostPort(n.Addr(h), fmt.Sprint(port))
		specs = append(specs, name+"="+addr)
		backends = append(backends, Backend{Name: name, Addr: addr})
		if h != 2 {
			addrs = append(addrs, h)
		}
	}
	n.AddAddrs(addrs...)

	cmd := exec.Command("ip", "netns", "exec", n.Name, os.Args[0], "-test.run=^TestNetnsBackendProcess$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), envNetnsBackends+"="+strings.Join(specs, ";"))
	// `ip netns exec` execs the command, so the death signal reaches the backends too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("netns backends: %v", err)
	}
	exited := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	n.t.Cleanup(func() {
		stdin.Close() // the child stops its servers when its stdin closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-ready:
	case <-exited:
		n.t.Fatalf("netns backends exited before serving: %s", stderr.String())
	case <-time.After(60 * time.Second):
		n.t.Fatalf("netns backends not ready after 60s: %s", stderr.String())
	}
	return backends
}

// serveNetnsBackends is the child's side: serve each backend, say READY, and stop when stdin closes.
func serveNetnsBackends(spec string) error {
	var servers []*grpc.Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	for _, item := range strings.Split(spec, ";") {
		name, addr, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("bad backend spec %q", item)
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("backend %s: %w", name, err)
		}
		s := grpc.NewServer()
		testgrpc.RegisterTestServiceServer(s, &namedService{name: name})
		go func() { _ = s.Serve(lis) }()
		servers = append(servers, s)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// callBackend makes one plain (non-xDS) RPC to a backend and checks who answered.
func callBackend(addr, want string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := testgrpc.NewTestServiceClient(conn).UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if err != nil {
		return fmt.Errorf("calling %s at %s: %w", want, addr, err)
	}
	if resp.GetHostname() != want {
		return fmt.Errorf("%s answered as %q, want %q", addr, resp.GetHostname(), want)
	}
	return nil
}

func containsWord(s, word string) bool {
	for _, f := range strings.Fields(s) {
		if f == word {
			return true
		}
	}
	return false
}
