package server

import (
	"hash/maphash"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// codec is gRPC's proto codec, and the writer of minipilot's own responses (sotwResponse,
// deltaResponse): those are written from pieces each resource prepared once, when it was
// translated, and that every stream of every view holding the resource shares: nothing is
// marshalled per stream, and a large resource is never copied (small ones are gathered into pooled
// frame-sized chunks for gRPC's writer: gather.go). gRPC's codec marshals each response into a
// buffer of its own and holds it until HTTP/2 flow control lets it out: with 500 sidecars
// connecting, 200 MB of copies of the same few sets, and per response an Any for each of
// thousands of resources.
//
// Requests are read by request.unmarshal, which hashes their names with the server's seed, in the
// frames they came in (from buffers, as the chunks responses are gathered in).
type codec struct {
	seed    maphash.Seed
	buffers mem.BufferPool
}

func (codec) Name() string { return grpcproto.Name }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *sotwResponse:
		return m.marshal(c.buffers)
	case *deltaResponse:
		return m.marshal(c.buffers)
	}
	return protoCodec().Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if req, ok := v.(*request); ok {
		return req.unmarshal(data, c.seed)
	}
	return protoCodec().Unmarshal(data, v)
}

func protoCodec() encoding.CodecV2 { return encoding.GetCodecV2(grpcproto.Name) }

// Field numbers (envoy/service/discovery/v3, google/protobuf/any).
const (
	responseResources protowire.Number = 2 // DiscoveryResponse.resources, DeltaDiscoveryResponse.resources
	resourceVersion   protowire.Number = 1 // Resource.version
	resourceResource  protowire.Number = 2 // Resource.resource
	resourceName      protowire.Number = 3 // Resource.name
	anyTypeURL        protowire.Number = 1
	anyValue          protowire.Number = 2
)

// sotwResponse is a DiscoveryResponse: its fields, and the resources it carries.
type sotwResponse struct {
	version, typeURL, nonce string
	entries                 []*resource
}

func (r *sotwResponse) carries() (string, []*resource) { return r.typeURL, r.entries }

func (r *sotwResponse) marshal(pool mem.BufferPool) (mem.BufferSlice, error) {
	head, err := proto.Marshal(&discoveryv3.DiscoveryResponse{VersionInfo: r.version, TypeUrl: r.typeURL, Nonce: r.nonce})
	if err != nil {
		return nil, err
	}
	size := len(head)
	for _, e := range r.entries {
		size += e.wire.sotw.Len() + e.wire.value.Len()
	}
	g := newGather(pool, 1+2*len(r.entries), size)
	g.add(head)
	for _, e := range r.entries {
		g.add(e.wire.sotw.ReadOnlyData())
		g.add(e.wire.value.ReadOnlyData())
	}
	return g.done(), nil
}

func (r *sotwResponse) memory() int64 {
	m := int64(responseFields)
	for _, e := range r.entries {
		m += held(e.wire.sotw.Len()) + held(e.wire.value.Len())
	}
	return m
}

// deltaResponse is a DeltaDiscoveryResponse: its fields, the resources it carries (each with its
// name and version) and the names of those removed.
type deltaResponse struct {
	version, typeURL, nonce string
	removed                 []string
	entries                 []*resource
}

func (r *deltaResponse) carries() (string, []*resource) { return r.typeURL, r.entries }

func (r *deltaResponse) marshal(pool mem.BufferPool) (mem.BufferSlice, error) {
	head, err := proto.Marshal(&discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: r.version, TypeUrl: r.typeURL, Nonce: r.nonce,
		RemovedResources: r.removed})
	if err != nil {
		return nil, err
	}
	size := len(head)
	for _, e := range r.entries {
		size += e.wire.deltaPrefix(e).Len() + e.wire.value.Len()
	}
	g := newGather(pool, 1+2*len(r.entries), size)
	g.add(head)
	for _, e := range r.entries {
		g.add(e.wire.deltaPrefix(e).ReadOnlyData())
		g.add(e.wire.value.ReadOnlyData())
	}
	return g.done(), nil
}

func (r *deltaResponse) memory() int64 {
	m := int64(responseFields)
	for _, name := range r.removed {
		m += int64(len(name))
	}
	for _, e := range r.entries {
		m += held(e.wire.deltaPrefix(e).Len()) + held(e.wire.value.Len())
	}
	return m
}

// responseFields is what a response holds besides its resources: its fields, encoded, and gRPC's
// record of the message.
const responseFields = 256

// size is the resources' bytes a response carries, for the metrics.
func size(entries []*resource) int64 {
	n := int64(0)
	for _, e := range entries {
		n += int64(len(e.raw))
	}
	return n
}

// wire is how a resource goes out: its value (raw), after the prefix that makes it an Any (type_url,
// then the value's tag and length) and makes that Any a resource of a DiscoveryResponse (SotW) or a
// Resource of a DeltaDiscoveryResponse (with its name and version; made on first use, as most
// streams are SotW). The value is sent where it lies, never copied.
type wire struct {
	anyHead     []byte
	value, sotw mem.Buffer
	deltaOnce   sync.Once
	delta       mem.Buffer
}

// marshalResource marshals a translated resource into the body of an Any of its type, returning
// that and the value's part of it.
func marshalResource(item types.Resource) (body, value []byte, err error) {
	opts := proto.MarshalOptions{Deterministic: true}
	n := opts.Size(item)
	body = anyHead(typeURLOf(item), n, n)
	start := len(body)
	opts.UseCachedSize = true
	if body, err = opts.MarshalAppend(body, item); err != nil {
		return nil, nil, err
	}
	return body, body[start:], nil
}

// anyHead is the head of an Any whose value is n bytes long (its type_url, then the value's tag and
// length), with room for so many bytes after it.
func anyHead(url string, n, room int) []byte {
	b := make([]byte, 0, protowire.SizeTag(anyTypeURL)+protowire.SizeBytes(len(url))+protowire.SizeTag(anyValue)+protowire.SizeVarint(uint64(n))+room)
	b = protowire.AppendTag(b, anyTypeURL, protowire.BytesType)
	b = protowire.AppendString(b, url)
	b = protowire.AppendTag(b, anyValue, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// newWire prepares a resource's pieces from its Any's head and value.
func newWire(anyHead, value []byte) *wire {
	sotw := protowire.AppendTag(nil, responseResources, protowire.BytesType)
	sotw = protowire.AppendVarint(sotw, uint64(len(anyHead)+len(value)))
	sotw = append(sotw, anyHead...)
	return &wire{anyHead: anyHead, value: mem.SliceBuffer(value), sotw: mem.SliceBuffer(sotw)}
}

func (w *wire) deltaPrefix(e *resource) mem.Buffer {
	w.deltaOnce.Do(func() {
		anyLen := len(w.anyHead) + w.value.Len()
		inner := protowire.SizeTag(resourceVersion) + protowire.SizeBytes(len(e.hash)) +
			protowire.SizeTag(resourceName) + protowire.SizeBytes(len(e.name)) +
			protowire.SizeTag(resourceResource) + protowire.SizeBytes(anyLen)
		b := protowire.AppendTag(nil, responseResources, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(inner))
		b = protowire.AppendTag(b, resourceVersion, protowire.BytesType)
		b = protowire.AppendString(b, e.hash)
		b = protowire.AppendTag(b, resourceName, protowire.BytesType)
		b = protowire.AppendString(b, e.name)
		b = protowire.AppendTag(b, resourceResource, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(anyLen))
		b = append(b, w.anyHead...)
		w.delta = mem.SliceBuffer(b)
	})
	return w.delta
}

// typeURLOf is the type URL of a translated resource.
func typeURLOf(item types.Resource) string {
	switch item.(type) {
	case *clusterv3.Cluster:
		return typeURLs[cds]
	case *endpointv3.ClusterLoadAssignment:
		return typeURLs[eds]
	case *listenerv3.Listener:
		return typeURLs[lds]
	case *routev3.RouteConfiguration:
		return typeURLs[rds]
	}
	return "type.googleapis.com/" + string(proto.MessageName(item))
}
