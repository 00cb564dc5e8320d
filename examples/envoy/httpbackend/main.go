// Command httpbackend stands in for bookinfo's HTTP workloads behind the Envoy example: one HTTP/1.1
// server per --listen address, each answering every request with its own name.
//
//	go run ./examples/envoy/httpbackend \
//	    --listen reviews-v1=127.0.0.21:9080 --listen reviews-v2=127.0.0.22:9080 --listen reviews-v3=127.0.0.23:9080
//
// Envoy's outbound listener binds 127.0.0.1:9080 (INTERCEPTION_MODE NONE binds localhost, as Istio
// does), so these servers can hold the same port on the other loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type listenAddr struct{ name, addr string }

// listenFlags collects repeated --listen name=host:port values.
type listenFlags []listenAddr

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

func main() {
	var listens listenFlags
	flag.Var(&listens, "listen", "name=host:port of a server to start (repeatable), e.g. reviews-v1=127.0.0.21:9080")
	flag.Parse()
	if len(listens) == 0 {
		fmt.Fprintln(os.Stderr, "httpbackend: give at least one --listen name=host:port")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(listens); err != nil {
		slog.Error("httpbackend failed", "err", err)
		os.Exit(1)
	}
}

// handler answers with the server's name and logs what it got, so the headers Envoy adds show.
func handler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		slog.Info("request", "server", name, "host", r.Host, "path", r.URL.Path, "end-user", r.Header.Get("end-user"))
		fmt.Fprintln(w, name)
	}
}

func run(listens listenFlags) error {
	var lc net.ListenConfig
	var servers []*http.Server
	var lis []net.Listener
	for _, l := range listens {
		ln, err := lc.Listen(context.Background(), "tcp", l.addr)
		if err != nil {
			for _, prev := range lis {
				prev.Close()
			}
			return fmt.Errorf("%s: %w", l.name, err)
		}
		lis = append(lis, ln)
		servers = append(servers, &http.Server{Handler: handler(l.name), ReadHeaderTimeout: 10 * time.Second})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errs := make(chan error, len(servers))
	for i, s := range servers {
		slog.Info("serving", "name", listens[i].name, "addr", lis[i].Addr().String())
		go func() {
			if err := s.Serve(lis[i]); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s: %w", listens[i].name, err)
			}
		}()
	}

	var err error
	select {
	case <-ctx.Done():
		stop()
		slog.Info("stopping")
	case err = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return err
}
