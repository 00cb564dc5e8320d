package load

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/adsc/lite"
)

// Stream is one simulated sidecar's open xDS stream, whatever client and protocol it runs.
type Stream interface {
	// Done is closed when the stream has ended; Err then says why.
	Done() <-chan struct{}
	Err() error
	Close() error
}

// Dialer opens a sidecar's stream on conn. Every response it gets is reported to observe, once
// answered, on one goroutine per stream, in the order received; the response's bytes are valid only
// during the call. Clients are pluggable here: a Delta client is one more Dialer.
type Dialer func(ctx context.Context, conn grpc.ClientConnInterface, id string, metadata map[string]any, observe func(*lite.Response)) (Stream, error)

// LiteDialer runs the cheap client (xds/adsc/lite): it decodes only the names it must subscribe to
// and ACKs everything. Its streams share names through cache.
func LiteDialer(cache *lite.NameCache) Dialer {
	return func(ctx context.Context, conn grpc.ClientConnInterface, id string, metadata map[string]any, observe func(*lite.Response)) (Stream, error) {
		md, err := structpb.NewStruct(metadata)
		if err != nil {
			return nil, err
		}
		return lite.Dial(ctx, conn, lite.Options{Node: &corev3.Node{Id: id, Metadata: md, UserAgentName: "envoy"},
			OnResponse: observe, Names: cache})
	}
}

// FullDialer runs xds/adsc: every resource decoded and validated as Envoy does, and NACKed when it
// would be refused.
func FullDialer(ctx context.Context, conn grpc.ClientConnInterface, id string, metadata map[string]any, observe func(*lite.Response)) (Stream, error) {
	return dialFull(ctx, conn, adsc.Options{NodeID: id, Metadata: metadata}, observe)
}

// DeltaDialer runs xds/adsc over Delta xDS, as Istio's sidecars connect by default: subscriptions
// by names added and removed, responses carrying only what changed.
func DeltaDialer(ctx context.Context, conn grpc.ClientConnInterface, id string, metadata map[string]any, observe func(*lite.Response)) (Stream, error) {
	return dialFull(ctx, conn, adsc.Options{NodeID: id, Metadata: metadata, Delta: true}, observe)
}

func dialFull(ctx context.Context, conn grpc.ClientConnInterface, opts adsc.Options, observe func(*lite.Response)) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	c, err := adsc.Dial(ctx, conn, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &fullStream{c: c, delta: opts.Delta, cancel: cancel, done: make(chan struct{})}
	go s.relay(observe)
	return s, nil
}

// fullStream reports an adsc client's responses as the lite client does.
type fullStream struct {
	c      *adsc.Client
	delta  bool
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *fullStream) relay(observe func(*lite.Response)) {
	defer close(s.done)
	var resources []lite.Resource
	for r := range s.c.Responses() {
		resources = resources[:0]
		for i, name := range r.Names {
			resources = append(resources, lite.Resource{Name: []byte(name), Body: r.Bodies[i]})
		}
		var removed [][]byte
		for _, name := range r.Removed {
			removed = append(removed, []byte(name))
		}
		observe(&lite.Response{TypeURL: r.TypeURL, Version: r.Version, Nonce: r.Nonce, Size: r.Size, Resources: resources,
			Full:     !s.delta && (r.TypeURL == resourcev3.ClusterType || r.TypeURL == resourcev3.ListenerType),
			Removed:  removed,
			Received: r.Received, Answered: r.Answered, NACK: r.Err})
	}
}

func (s *fullStream) Done() <-chan struct{} { return s.done }
func (s *fullStream) Err() error            { <-s.done; return s.c.Err() }
func (s *fullStream) Close() error          { s.cancel(); <-s.done; return nil }
