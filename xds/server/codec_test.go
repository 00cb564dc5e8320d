package server

import (
	"fmt"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The codec's responses decode to the DiscoveryResponse and DeltaDiscoveryResponse they stand for,
// and carry each large resource's own prepared bytes (nothing of it is copied per response), the
// small ones copied together into a few frame-sized chunks: gRPC's writer lists a frame's pieces.
func TestCodecWritesResponsesFromSharedPieces(t *testing.T) {
	var entries []*resource
	for i := range 2000 {
		name := fmt.Sprintf("outbound|80||svc-%d.ns-%d.svc.cluster.local", i, i%10)
		entries = append(entries, newResource(name, &clusterv3.Cluster{Name: name}))
	}
	large := newResource(strings.Repeat("long-", 40000), &clusterv3.Cluster{Name: strings.Repeat("long-", 40000)}) // 3-byte lengths
	entries = append(entries[:1000], append([]*resource{large}, entries[1000:]...)...)
	anyOf := func(e *resource) *anypb.Any { return &anypb.Any{TypeUrl: typeURLs[cds], Value: e.raw} }
	wantSotW := &discoveryv3.DiscoveryResponse{VersionInfo: "v-2", TypeUrl: typeURLs[cds], Nonce: "7"}
	wantDelta := &discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: "v-2", TypeUrl: typeURLs[cds], Nonce: "8", RemovedResources: []string{"gone"}}
	for _, e := range entries {
		wantSotW.Resources = append(wantSotW.Resources, anyOf(e))
		wantDelta.Resources = append(wantDelta.Resources, &discoveryv3.Resource{Name: e.name, Version: e.hash, Resource: anyOf(e)})
	}
	cases := []struct {
		send       any
		want, into proto.Message
	}{
		{&sotwResponse{version: "v-2", typeURL: typeURLs[cds], nonce: "7", entries: entries}, wantSotW, &discoveryv3.DiscoveryResponse{}},
		{&deltaResponse{version: "v-2", typeURL: typeURLs[cds], nonce: "8", removed: []string{"gone"}, entries: entries}, wantDelta, &discoveryv3.DeltaDiscoveryResponse{}},
	}
	for _, tc := range cases {
		data, err := (codec{buffers: newBufferPool()}).Marshal(tc.send)
		if err != nil {
			t.Fatal(err)
		}
		if err := (codec{buffers: newBufferPool()}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(data.Materialize())}, tc.into); err != nil {
			t.Fatalf("%T: the codec's bytes do not decode: %v", tc.send, err)
		}
		if !proto.Equal(tc.into, tc.want) {
			t.Fatalf("%T: decoded %v, want %v", tc.send, tc.into, tc.want)
		}
		if !holds(data, large.wire.value) {
			t.Errorf("%T: the large resource was copied, not referenced", tc.send)
		}
		// The small resources' bytes in full chunks, a partial chunk either side of the large one, and
		// the large one.
		if want := (data.Len()-large.wire.value.Len())/chunkSize + 3; len(data) > want {
			t.Errorf("%T: %d buffers for %d resources, want at most %d: the small ones gathered into frame-sized chunks", tc.send, len(data), len(entries), want)
		}
		data.Free() // the chunks go back to the pool
	}
}

func holds(data mem.BufferSlice, piece mem.Buffer) bool {
	want := piece.ReadOnlyData()
	for _, p := range data {
		if b := p.ReadOnlyData(); len(b) == len(want) && &b[0] == &want[0] {
			return true
		}
	}
	return false
}

// A small response takes a chunk about its size from the pool, not a frame's: a stream's pending
// responses hold what they carry.
func TestSmallResponseTakesASmallChunk(t *testing.T) {
	one := []*resource{newResource("a", &clusterv3.Cluster{Name: "a"})}
	data, err := (codec{buffers: newBufferPool()}).Marshal(&sotwResponse{version: "v-1", typeURL: typeURLs[cds], nonce: "1", entries: one})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Free()
	if len(data) != 1 {
		t.Fatalf("%d buffers, want the response in one", len(data))
	}
	if b := data[0].ReadOnlyData(); cap(b) > 4*len(b) || cap(b) >= chunkSize { // the pool has a size per power of two
		t.Errorf("a %d-byte response took a %d-byte chunk", len(b), cap(b))
	}
}

// The send budget counts what a response holds while it is written: the chunks its small resources
// are copied into, and a place in the list for each large one. It counted 32 bytes a resource, the
// list alone, so that 64 MiB of budget let hundreds of MiB of chunks wait for slow clients.
func TestSendBudgetCountsWhatAResponseHolds(t *testing.T) {
	var entries []*resource
	for i := range 2000 {
		name := fmt.Sprintf("outbound|80||svc-%d.ns-%d.svc.cluster.local", i, i%10)
		entries = append(entries, newResource(name, &clusterv3.Cluster{Name: name, AltStatName: strings.Repeat("x", 150)}))
	}
	large := newResource("large", &clusterv3.Cluster{Name: "large", AltStatName: strings.Repeat("long-", 40000)})
	entries = append(entries, large)
	for _, resp := range []interface {
		memory() int64
	}{
		&sotwResponse{version: "v-2", typeURL: typeURLs[cds], nonce: "7", entries: entries},
		&deltaResponse{version: "v-2", typeURL: typeURLs[cds], nonce: "8", removed: []string{"gone"}, entries: entries},
	} {
		data, err := (codec{buffers: newBufferPool()}).Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		copied := int64(data.Len() - large.wire.value.Len()) // everything but the large value is in chunks
		if m := resp.memory(); m < copied || m > copied+4096 {
			t.Errorf("%T counts %d bytes against the budget, holding %d in chunks and one large value listed", resp, m, copied)
		}
		data.Free()
	}
}
