package lite_test

import (
	"bytes"
	"context"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/adsc/lite"
	"github.com/minipilot/minipilot/xds/server"
)

const nodeID = "sidecar~172.16.0.1~load-0.ns-0~ns-0.svc.cluster.local"

// serve runs the real server on loopback with a memory source.
func serve(t *testing.T, part model.Part) (*memory.Source, *server.Server, *grpc.ClientConn) {
	t.Helper()
	store := model.NewStore("cluster.local", time.Now)
	source := memory.New(store, "test")
	source.Replace(part)
	srv := server.New(store, server.Options{Log: zaptest.NewLogger(t), StageTimeout: time.Minute})
	g := srv.GRPCServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = g.Serve(lis) }()
	go srv.Run(ctx)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		g.Stop()
		eventually(t, "the streams to close", func() bool { return len(srv.SyncStatus()) == 0 })
	})
	eventually(t, "the server to sync", srv.Ready)
	return source, srv, conn
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder keeps what a lite client was sent: the latest bytes of every resource, by type and name.
type recorder struct {
	mu        sync.Mutex
	resources map[string]map[string][]byte
	responses []string
}

func newRecorder() *recorder { return &recorder{resources: map[string]map[string][]byte{}} }

func (r *recorder) observe(resp *lite.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if resp.Answered.Before(resp.Received) || resp.NACK != nil || resp.Size == 0 {
		panic("a response must be answered after it is received, accepted, and have a size")
	}
	r.responses = append(r.responses, resp.TypeURL)
	byName := r.resources[resp.TypeURL]
	if resp.Full || byName == nil {
		byName = map[string][]byte{}
		r.resources[resp.TypeURL] = byName
	}
	for _, res := range resp.Resources {
		byName[string(res.Name)] = bytes.Clone(res.Body)
	}
}

func (r *recorder) get(typeURL string) map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.resources[typeURL])
}

// TestLiteMatchesFullClient: a lite client and adsc, side by side, subscribe to the same resources
// and get the same bytes; every type is ACKed (the server's view); an endpoint change reaches both.
func TestLiteMatchesFullClient(t *testing.T) {
	source, srv, conn := serve(t, modeltest.Mesh(20, 3))
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := lite.Dial(ctx, conn, lite.Options{Node: &corev3.Node{Id: nodeID}, OnResponse: rec.observe})
	if err != nil {
		t.Fatal(err)
	}
	full, err := adsc.Dial(ctx, conn, adsc.Options{NodeID: nodeID})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range full.Responses() {
		}
	}()
	types := []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}
	same := func() bool {
		for _, typ := range types {
			want := full.Resources(typ)
			got := rec.get(typ)
			if len(want) == 0 || len(got) != len(want) {
				return false
			}
			for name, m := range want {
				b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
				if err != nil || !bytes.Equal(b, got[name]) {
					return false
				}
			}
		}
		return true
	}
	eventually(t, "the lite client to hold what adsc holds", same)
	eventually(t, "both streams to have ACKed every type", func() bool {
		status := srv.SyncStatus()
		if len(status) != 2 {
			return false
		}
		for _, st := range status {
			for _, typ := range []string{"cds", "eds", "lds", "rds"} {
				ts := st.Types[typ]
				if ts.Sent.Version == "" || ts.Sent.Version != ts.Acked.Version || ts.Sent.Nonce != ts.Acked.Nonce {
					return false
				}
			}
		}
		return true
	})

	source.Update(func(p *model.Part) {
		p.Endpoints = append(p.Endpoints, &model.Endpoint{Service: p.Services[0].Hostname, ServicePort: "http",
			Address: "10.255.0.1", Port: 8080, Ready: true, Labels: map[string]string{"version": "v1"}})
	})
	eventually(t, "the new endpoint to reach both clients", func() bool {
		found := false
		for _, body := range rec.get(resourcev3.EndpointType) {
			found = found || bytes.Contains(body, []byte("10.255.0.1"))
		}
		return found && same()
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}
