// Command backend stands in for the versions of a service: it starts one gRPC server per --listen
// address, each answering UnaryCall with its own name, so a client can tell which version answered.
//
//	go run ./examples/grpc-demo/backend \
//	    --listen reviews-v1=127.0.0.21:9080 --listen reviews-v2=127.0.0.22:9080 --listen reviews-v3=127.0.0.23:9080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// listenFlags collects repeated --listen name=host:port values.
type listenFlags []listenAddr

type listenAddr struct{ name, addr string }

func (l *listenFlags) String() string {
	parts := make([]string, len(*l))
	for i, a := range *l {
		parts[i] = a.name + "=" + a.addr
	}
	return strings.Join(parts, ",")
}

func (l *listenFlags) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want name=host:port, got %q", v)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q: %v", addr, err)
	}
	*l = append(*l, listenAddr{name, addr})
	return nil
}

// server answers UnaryCall with its name; every other method is left unimplemented.
type server struct {
	testgrpc.UnimplementedTestServiceServer
	name string
}

func (s *server) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Hostname: s.name}, nil
}

func main() {
	var listens listenFlags
	flag.Var(&listens, "listen", "name=host:port of a server to start (repeatable), e.g. reviews-v1=127.0.0.21:9080")
	flag.Parse()
	if len(listens) == 0 {
		fmt.Fprintln(os.Stderr, "backend: give at least one --listen name=host:port")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(listens); err != nil {
		slog.Error("backend failed", "err", err)
		os.Exit(1)
	}
}

func run(listens listenFlags) error {
	// Bind everything first, so that a taken address fails the whole command before anything serves.
	servers := make([]*grpc.Server, 0, len(listens))
	lis := make([]net.Listener, 0, len(listens))
	for _, l := range listens {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, prev := range lis {
				prev.Close()
			}
			return fmt.Errorf("%s: %w", l.name, err)
		}
		lis = append(lis, ln)
		s := grpc.NewServer()
		testgrpc.RegisterTestServiceServer(s, &server{name: l.name})
		servers = append(servers, s)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errs := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		slog.Info("serving", "name", listens[i].name, "addr", lis[i].Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Serve(lis[i]); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errs <- fmt.Errorf("%s: %w", listens[i].name, err)
			}
		}()
	}

	var err error
	select {
	case <-ctx.Done():
		stop() // a second Ctrl-C kills at once if a client keeps a call open
		slog.Info("stopping")
	case err = <-errs:
	}
	for _, s := range servers {
		s.GracefulStop()
	}
	wg.Wait()
	return err
}
