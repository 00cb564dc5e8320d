package server

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// requestSamples are requests as clients send them: a first request with its node, ACKs naming
// many resources, a NACK, and one with a field this version of the API does not know.
func requestSamples() [][]byte {
	node := &corev3.Node{Id: "sidecar~10.1.0.1~a.ns~ns.svc.cluster.local", Cluster: "a.ns",
		Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{"ISTIO_VERSION": structpb.NewStringValue("1.31.0")}}}
	var many []string
	for i := range 230 {
		many = append(many, fmt.Sprintf("outbound|8080||svc-%d.ns-%d.svc.cluster.local", i, i%10))
	}
	reqs := []*discoveryv3.DiscoveryRequest{
		{Node: node, TypeUrl: resourcev3.ClusterType},
		{VersionInfo: "abc-230", ResponseNonce: "7", TypeUrl: resourcev3.EndpointType, ResourceNames: many},
		{ResponseNonce: "8", TypeUrl: resourcev3.RouteType, ResourceNames: []string{"80", "", "9080", "80"},
			ErrorDetail: &status.Status{Code: 3, Message: "route: unknown cluster"}},
		{TypeUrl: resourcev3.ListenerType, ResourceNames: []string{"héllo", "世界"}},
	}
	var out [][]byte
	for _, r := range reqs {
		b, err := proto.Marshal(r)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	unknown := protowire.AppendTag(out[1], 99, protowire.BytesType)
	out = append(out, protowire.AppendBytes(unknown, []byte("a field from a newer API")))
	// Names between other fields, and a field-3 value of the wrong wire type (an unknown field).
	mixed := protowire.AppendTag(nil, requestNames, protowire.BytesType)
	mixed = protowire.AppendString(mixed, "first")
	mixed = protowire.AppendTag(mixed, 4, protowire.BytesType)
	mixed = protowire.AppendString(mixed, resourcev3.EndpointType)
	mixed = protowire.AppendTag(mixed, requestNames, protowire.BytesType)
	mixed = protowire.AppendString(mixed, "second")
	mixed = protowire.AppendTag(mixed, requestNames, protowire.VarintType)
	mixed = protowire.AppendVarint(mixed, 5)
	return append(out, mixed)
}

// The request decoder decodes every request exactly as protobuf does (the fuzz target below
// extends this to any bytes).
func TestDecodeRequestEqualsProtobuf(t *testing.T) {
	for i, b := range requestSamples() {
		checkDecodeRequest(t, fmt.Sprint("sample ", i), b)
	}
	invalid := protowire.AppendTag(nil, requestNames, protowire.BytesType)
	checkDecodeRequest(t, "invalid UTF-8 name", protowire.AppendBytes(invalid, []byte{0xff, 'a'}))
	checkDecodeRequest(t, "truncated", requestSamples()[1][:100])
}

func FuzzDecodeRequest(f *testing.F) {
	for _, b := range requestSamples() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeRequest(t, "fuzzed", b) })
}

// checkDecodeRequest compares the server's decoding of b with protobuf's, with b in one frame and
// cut into frames of a few sizes (fields straddle them). The server decodes names only when it needs
// them, so a name that is not UTF-8 is an error then, not before.
func checkDecodeRequest(t *testing.T, what string, b []byte) {
	t.Helper()
	var want discoveryv3.DiscoveryRequest
	wantErr := proto.Unmarshal(b, &want)
	seed := maphash.MakeSeed()
	var keys []namesKey
	for _, frame := range []int{len(b), 1, 3, 16, 100} {
		req, err := decodeRequestIn(b, seed, frame)
		var got *discoveryv3.DiscoveryRequest
		if err == nil {
			got, err = req.decoded()
			keys = append(keys, req.key)
			req.free()
		}
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("%s in frames of %d bytes: protobuf says %v, the server %v", what, frame, wantErr, err)
		}
		if wantErr != nil {
			continue
		}
		if !proto.Equal(&want, got) {
			t.Fatalf("%s in frames of %d bytes: decoded\n%v\nprotobuf decodes\n%v", what, frame, got, &want)
		}
		if keys[0] != req.key {
			t.Fatalf("%s in frames of %d bytes: names key %v, in one frame %v", what, frame, req.key, keys[0])
		}
	}
	if wantErr != nil {
		return
	}
	// The key is that of the names' encoding: a request encoded as protobuf encodes it has the key
	// of its names. (Another encoding of the same names, with a longer varint say, may have another
	// key: it is decoded and compared then, which costs time, not correctness.)
	canonical, err := proto.Marshal(&want)
	if err != nil {
		t.Fatal(err)
	}
	creq, err := decodeRequest(canonical, seed)
	if err != nil {
		t.Fatalf("%s: protobuf's own encoding of it: %v", what, err)
	}
	defer creq.free()
	if wantKey := namesKeyOf(seed, want.ResourceNames); creq.key != wantKey {
		t.Fatalf("%s: names key %v, want %v", what, creq.key, wantKey)
	}
}

// namesKeyOf is the key of a list of names: the hash of their encoding.
func namesKeyOf(seed maphash.Seed, names []string) namesKey {
	var b []byte
	for _, n := range names {
		b = protowire.AppendString(protowire.AppendTag(b, requestNames, protowire.BytesType), n)
	}
	return namesKey{hash: maphash.Bytes(seed, b), n: len(names)}
}

// decodeRequest decodes b as the server's codec does, from a buffer of gRPC's pool.
func decodeRequest(b []byte, seed maphash.Seed) (*request, error) {
	return decodeRequestIn(b, seed, len(b))
}

// decodeRequestIn decodes b as the server's codec does, received in frames of frame bytes (each a
// buffer of gRPC's pool, freed once decoded as gRPC frees them: the request holds references).
func decodeRequestIn(b []byte, seed maphash.Seed, frame int) (*request, error) {
	var data mem.BufferSlice
	for len(b) > 0 {
		n := min(frame, len(b))
		data, b = append(data, mem.Copy(b[:n], mem.DefaultBufferPool())), b[n:]
	}
	defer data.Free()
	req := &request{}
	if err := (codec{seed: seed, buffers: newBufferPool()}).Unmarshal(data, req); err != nil {
		return nil, err
	}
	return req, nil
}

// An Envoy's EDS ACK at 230 clusters, decoded as protobuf decodes it and as the server does.
func BenchmarkDecodeACK(b *testing.B) {
	ack := requestSamples()[1]
	b.Run("protobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req discoveryv3.DiscoveryRequest
			if err := proto.Unmarshal(ack, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("names-kept-encoded", func(b *testing.B) {
		b.ReportAllocs()
		seed := maphash.MakeSeed()
		for b.Loop() {
			req, err := decodeRequest(ack, seed)
			if err != nil {
				b.Fatal(err)
			}
			req.free()
		}
	})
}

// A hostile request, every field a group (which no xDS client sends, and protobuf keeps as unknown
// fields), across frames, costs about its size to decode: each group is walked in place, not the
// rest of the message copied again for it.
func TestDecodeRequestOfGroupsIsLinear(t *testing.T) {
	var b []byte
	for range 20000 {
		b = protowire.AppendTag(b, 5, protowire.StartGroupType)
		b = protowire.AppendTag(b, 5, protowire.EndGroupType)
	}
	checkDecodeRequest(t, "groups", b[:64]) // and it decodes as protobuf does
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	req, err := decodeRequestIn(b, maphash.MakeSeed(), 16<<10)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	req.free()
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 50*uint64(len(b)) {
		t.Errorf("decoding a %d-byte request of groups allocated %d bytes", len(b), allocated)
	}
}
