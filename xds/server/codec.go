package server

import (
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// ServerOptions are the gRPC server options the xDS server is meant to run with: its codec.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ForceServerCodecV2(codec{})}
}

// codec is gRPC's proto codec, except that the resources of a discovery response are not copied:
// the wire bytes sent are the resources' own, the immutable bytes every stream of a view shares,
// referenced in place. gRPC's codec marshals each response into a buffer of its own and holds it
// until HTTP/2 flow control lets it out: with 500 sidecars connecting, that was 200 MB of copies of
// the same few sets (and up to 1 MiB of buffer for each 75 KiB response). Here a response costs
// its field headers.
type codec struct{}

func (codec) Name() string { return grpcproto.Name }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *discoveryv3.DiscoveryResponse:
		return marshalSotW(m)
	case *discoveryv3.DeltaDiscoveryResponse:
		return marshalDelta(m)
	}
	return protoCodec().Marshal(v)
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error { return protoCodec().Unmarshal(data, v) }

func protoCodec() encoding.CodecV2 { return encoding.GetCodecV2(grpcproto.Name) }

// Field numbers of the messages marshalled here (envoy/service/discovery/v3, google/protobuf/any).
const (
	responseResources protowire.Number = 2 // DiscoveryResponse.resources, DeltaDiscoveryResponse.resources
	resourceResource  protowire.Number = 2 // Resource.resource
	anyTypeURL        protowire.Number = 1
	anyValue          protowire.Number = 2
)

// marshalSotW writes a response's fields, then each resource as an Any whose value is referenced.
func marshalSotW(m *discoveryv3.DiscoveryResponse) (mem.BufferSlice, error) {
	head, err := proto.Marshal(&discoveryv3.DiscoveryResponse{VersionInfo: m.VersionInfo, Canary: m.Canary, TypeUrl: m.TypeUrl,
		Nonce: m.Nonce, ControlPlane: m.ControlPlane})
	if err != nil {
		return nil, err
	}
	out := mem.BufferSlice{mem.SliceBuffer(head)}
	headers := make([]byte, 0, len(m.Resources)*maxAnyHeader(m.TypeUrl))
	for _, a := range m.Resources {
		start := len(headers)
		headers = protowire.AppendTag(headers, responseResources, protowire.BytesType)
		headers = protowire.AppendVarint(headers, uint64(anySize(a)))
		headers = appendAnyHeader(headers, a)
		out = appendPiece(out, headers[start:])
		out = appendPiece(out, a.Value)
	}
	return out, nil
}

// marshalDelta writes a Delta response's fields, then each resource: its fields, and its Any with
// the value referenced.
func marshalDelta(m *discoveryv3.DeltaDiscoveryResponse) (mem.BufferSlice, error) {
	head, err := proto.Marshal(&discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: m.SystemVersionInfo, TypeUrl: m.TypeUrl,
		RemovedResources: m.RemovedResources, RemovedResourceNames: m.RemovedResourceNames, Nonce: m.Nonce, ControlPlane: m.ControlPlane})
	if err != nil {
		return nil, err
	}
	out := mem.BufferSlice{mem.SliceBuffer(head)}
	for _, r := range m.Resources {
		fields, err := proto.Marshal(&discoveryv3.Resource{Name: r.Name, ResourceName: r.ResourceName, Aliases: r.Aliases,
			Version: r.Version, Ttl: r.Ttl, CacheControl: r.CacheControl, Metadata: r.Metadata})
		if err != nil {
			return nil, err
		}
		a := r.Resource
		inner := len(fields)
		if a != nil {
			inner += protowire.SizeTag(resourceResource) + protowire.SizeBytes(anySize(a))
		}
		headers := protowire.AppendTag(nil, responseResources, protowire.BytesType)
		headers = protowire.AppendVarint(headers, uint64(inner))
		headers = append(headers, fields...)
		if a != nil {
			headers = protowire.AppendTag(headers, resourceResource, protowire.BytesType)
			headers = protowire.AppendVarint(headers, uint64(anySize(a)))
			headers = appendAnyHeader(headers, a)
		}
		out = appendPiece(out, headers)
		if a != nil {
			out = appendPiece(out, a.Value)
		}
	}
	return out, nil
}

// anySize is the size of an Any's fields.
func anySize(a *anypb.Any) int {
	n := 0
	if a.TypeUrl != "" {
		n += protowire.SizeTag(anyTypeURL) + protowire.SizeBytes(len(a.TypeUrl))
	}
	if len(a.Value) > 0 {
		n += protowire.SizeTag(anyValue) + protowire.SizeBytes(len(a.Value))
	}
	return n
}

// appendAnyHeader appends an Any's fields but the value's bytes themselves.
func appendAnyHeader(b []byte, a *anypb.Any) []byte {
	if a.TypeUrl != "" {
		b = protowire.AppendTag(b, anyTypeURL, protowire.BytesType)
		b = protowire.AppendString(b, a.TypeUrl)
	}
	if len(a.Value) > 0 {
		b = protowire.AppendTag(b, anyValue, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(a.Value)))
	}
	return b
}

// maxAnyHeader bounds the header bytes of one resource of a type, so that the headers of a response
// share one allocation. (Were it to grow, the pieces already cut would keep the old array: still right.)
func maxAnyHeader(typeURL string) int {
	return 3*(1+protowire.SizeVarint(1<<63)) + len(typeURL) + protowire.SizeVarint(uint64(len(typeURL)))
}

// appendPiece adds bytes to a buffer slice, referenced, not copied; empty pieces are left out.
func appendPiece(out mem.BufferSlice, b []byte) mem.BufferSlice {
	if len(b) == 0 {
		return out
	}
	return append(out, mem.SliceBuffer(b[:len(b):len(b)]))
}
