package auth

import (
	"context"
	"net"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// echoADS answers each request with an empty response of its type, until the client goes.
type echoADS struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
}

func (echoADS) StreamAggregatedResources(s grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	for {
		req, err := s.Recv()
		if err != nil {
			return err
		}
		if err := s.Send(&discoveryv3.DiscoveryResponse{TypeUrl: req.GetTypeUrl()}); err != nil {
			return err
		}
	}
}

func TestInterceptorAuthorizesTheFirstRequestAndTracksTheStream(t *testing.T) {
	g, err := NewGuard(Options{Tokens: fakeTokens{}, TrustDomain: "cluster.local"})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(g.StreamInterceptor()))
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(srv, echoADS{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	open := func(token, node string) (context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token))
		stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
		if err != nil {
			return cancel, err
		}
		// A refused stream may be closed before the request is sent (Send then says io.EOF): the
		// status is what Recv returns.
		_ = stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: "t"})
		_, err = stream.Recv()
		return cancel, err
	}
	cancel, err := open("good-a-app", "sidecar~10.0.0.1~app-1.a~a.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Streams(); len(got) != 1 || got[0].Identity != "spiffe://cluster.local/ns/a/sa/app" || got[0].Via != "token" {
		t.Fatalf("open streams: %+v", got)
	}
	if _, err := open("good-b-app", "sidecar~10.0.0.1~app-1.a~a.svc.cluster.local"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a token of b claiming a: %v", err)
	}
	if _, err := open("bad", "sidecar~10.0.0.1~app-1.a~a.svc.cluster.local"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a bad token: %v", err)
	}
	if got := g.Streams(); len(got) != 1 {
		t.Fatalf("refused streams are listed: %+v", got)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.Streams()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream is still listed: %+v", g.Streams())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A stream whose first message the guard cannot read a node from is refused, not let through
// unchecked (the server once read requests into a type of its own that did not say its node, and
// every stream went unauthorized).
func TestStreamWhoseMessageNamesNoNodeIsRefused(t *testing.T) {
	g, err := NewGuard(Options{Tokens: fakeTokens{}, TrustDomain: "cluster.local"})
	if err != nil {
		t.Fatal(err)
	}
	s := &authorizedStream{ServerStream: recvAnything{}, guard: g}
	if err := s.RecvMsg(&struct{ Node *corev3.Node }{}); status.Code(err) != codes.Internal {
		t.Fatalf("a first message without GetNode: %v, want Internal", err)
	}
}

// recvAnything is a stream whose every message arrives at once, as it is.
type recvAnything struct{ grpc.ServerStream }

func (recvAnything) RecvMsg(any) error { return nil }
