package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/xds"
)

// Backend is a real gRPC server that says who it is in every answer.
type Backend struct {
	Name string
	Addr string // host:port it listens on
	svc  *namedService
}

type namedService struct {
	testgrpc.UnimplementedTestServiceServer
	name     string
	failNext atomic.Int64
}

// UnaryCall answers with the backend's name. Asked to (metadata "x-sleep: 300ms") it sleeps first, so
// that timeouts can be tested; after FailNext(n) it fails the next n calls with UNAVAILABLE.
func (s *namedService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if s.failNext.Add(-1) >= 0 {
		return nil, status.Errorf(codes.Unavailable, "%s: failing as asked", s.name)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-sleep"); len(v) > 0 {
		d, err := time.ParseDuration(v[0])
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "x-sleep: %v", err)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return &testgrpc.SimpleResponse{Hostname: s.name}, nil
}

// FailNext makes the backend fail its next n UnaryCalls with UNAVAILABLE.
func (b Backend) FailNext(n int64) {
	b.svc.failNext.Store(n)
}

// StartBackend serves grpc.testing.TestService on host (a loopback address such as 127.0.0.21) at a
// free port; UnaryCall answers with the backend's name. It stops when the test ends.
func StartBackend(t testing.TB, name, host string) Backend {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	s := grpc.NewServer()
	svc := &namedService{name: name}
	testgrpc.RegisterTestServiceServer(s, svc)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return Backend{Name: name, Addr: lis.Addr().String(), svc: svc}
}

// Port is the port a backend listens on.
func (b Backend) Port() string {
	_, port, _ := net.SplitHostPort(b.Addr)
	return port
}

// Host is the address a backend listens on.
func (b Backend) Host() string {
	host, _, _ := net.SplitHostPort(b.Addr)
	return host
}

// XDSClient dials target ("xds:///reviews.default.svc.cluster.local:9080") with grpc-go's xDS client,
// bootstrapped to the given xDS server as a proxyless node in namespace default.
func XDSClient(t testing.TB, xdsAddr, nodeName, target string) testgrpc.TestServiceClient {
	t.Helper()
	return testgrpc.NewTestServiceClient(xdsConn(t, xdsResolver(t, xdsAddr, nodeName), target))
}

// proxylessNodeID is the Istio node ID of a proxyless client in namespace default.
func proxylessNodeID(nodeName string) string {
	return fmt.Sprintf("sidecar~127.0.0.1~%s.default~default.svc.cluster.local", nodeName)
}

// grpcBootstrap is the xDS bootstrap of a proxyless node, as every gRPC implementation reads it.
// grpc-js refuses a node without a locality ("locality field missing in node"): it gets an empty
// one, as Istio's agent writes it.
func grpcBootstrap(xdsAddr, nodeID string) map[string]any {
	return map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      xdsAddr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id":       nodeID,
			"metadata": map[string]any{"GENERATOR": "grpc"},
			"locality": map[string]any{},
		},
	}
}

// xdsResolver is grpc-go's xds:/// resolver with its own xDS client, bootstrapped as nodeName.
func xdsResolver(t testing.TB, xdsAddr, nodeName string) resolver.Builder {
	t.Helper()
	bootstrap, err := json.Marshal(grpcBootstrap(xdsAddr, proxylessNodeID(nodeName)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := xds.NewXDSResolverWithConfigForTesting(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func xdsConn(t testing.TB, r resolver.Builder, target string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(target, grpc.WithResolvers(r), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Tally counts which backend answered n RPCs (sent with the given headers) and how many failed.
type Tally struct {
	ByBackend map[string]int
	Codes     map[codes.Code]int // every RPC's status, OK included
	Failed    int
	LastError error
}

func (t Tally) String() string {
	var parts []string
	for name, n := range t.ByBackend {
		parts = append(parts, fmt.Sprintf("%s=%d", name, n))
	}
	for code, n := range t.Codes {
		if code != codes.OK {
			parts = append(parts, fmt.Sprintf("%s=%d", code, n))
		}
	}
	return fmt.Sprintf("%s failed=%d (last error: %v)", strings.Join(parts, " "), t.Failed, t.LastError)
}

// Count sends n RPCs one after another and tallies the answers.
func Count(ctx context.Context, c testgrpc.TestServiceClient, n int, headers ...string) Tally {
	tally := Tally{ByBackend: map[string]int{}, Codes: map[codes.Code]int{}}
	if len(headers) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, headers...)
	}
	for range n {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := c.UnaryCall(rctx, &testgrpc.SimpleRequest{})
		cancel()
		tally.Codes[status.Code(err)]++
		if err != nil {
			tally.Failed++
			tally.LastError = err
			continue
		}
		tally.ByBackend[resp.GetHostname()]++
	}
	return tally
}
