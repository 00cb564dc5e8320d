package pilot

import (
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/minipilot/minipilot/xds/server"
)

// xdsListener is one gRPC server serving xDS on one address.
type xdsListener struct {
	server *grpc.Server
	lis    net.Listener
}

// xdsListenerSet is the plaintext listener (index 0) and the secure one (1); either may be absent.
type xdsListenerSet [2]*xdsListener

// xdsListeners opens the plaintext and the secure xDS ports the config asks for.
func xdsListeners(cfg *Config, sec *security, xds *server.Server) (xdsListenerSet, error) {
	var set xdsListenerSet
	for i, addr := range []string{cfg.PlaintextAddr(), cfg.SecureAddr()} {
		if addr == "" {
			continue
		}
		var extra []grpc.ServerOption
		what := "xDS"
		if i == 1 {
			extra, what = sec.serverOptions, "secure xDS"
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			set.close()
			return set, fmt.Errorf("listening for %s on %s: %w", what, addr, err)
		}
		set[i] = &xdsListener{server: xds.GRPCServer(grpcOptions(cfg, extra...)...), lis: lis}
	}
	return set, nil
}

// grpcOptions are pilot's stream limits and keepalive policy, and extra.
func grpcOptions(cfg *Config, extra ...grpc.ServerOption) []grpc.ServerOption {
	return append([]grpc.ServerOption{
		grpc.MaxConcurrentStreams(100000),
		// Fixed HTTP/2 windows: with gRPC's default, it estimates the bandwidth with a ping round
		// trip after reading a message, on every stream, a write and a read more per ACK. Requests
		// are small; a MiB is plenty.
		grpc.InitialWindowSize(1 << 20), grpc.InitialConnWindowSize(1 << 20),
		// Envoy pings every 5 minutes by default and more often when told to; allow it, as Istio does.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: 30 * time.Second, Timeout: 10 * time.Second,
			// Connections are closed after an age (gRPC adds ±10% jitter), so that proxies spread over
			// the replicas again after a rollout or a scale-up, as Istio's chart does.
			MaxConnectionAge: cfg.MaxConnectionAge, MaxConnectionAgeGrace: cfg.MaxConnectionAgeGrace,
		}),
	}, extra...)
}

// addr is the address listener i listens on, or "" when it is off.
func (s xdsListenerSet) addr(i int) string {
	if s[i] == nil {
		return ""
	}
	return s[i].lis.Addr().String()
}

func (s xdsListenerSet) servers() []*grpc.Server {
	var out []*grpc.Server
	for _, l := range s {
		if l != nil {
			out = append(out, l.server)
		}
	}
	return out
}

func (s xdsListenerSet) close() {
	for _, l := range s {
		if l != nil {
			l.lis.Close()
		}
	}
}
