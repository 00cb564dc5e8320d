package server

import (
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The codec's responses decode to what was sent, and carry the resources' own bytes, not copies.
func TestCodecSendsResourcesInPlace(t *testing.T) {
	big := make([]byte, 70_000) // a length that needs a three-byte varint
	for i := range big {
		big[i] = byte(i)
	}
	values := [][]byte{[]byte("cluster one"), big, {}}
	const url = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	sotw := &discoveryv3.DiscoveryResponse{VersionInfo: "v1-3", TypeUrl: url, Nonce: "7"}
	delta := &discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: "v1-3", TypeUrl: url, Nonce: "8", RemovedResources: []string{"gone"}}
	for i, v := range values {
		sotw.Resources = append(sotw.Resources, &anypb.Any{TypeUrl: url, Value: v})
		delta.Resources = append(delta.Resources, &discoveryv3.Resource{Name: string(rune('a' + i)), Version: "h", Resource: &anypb.Any{TypeUrl: url, Value: v},
			Ttl: durationpb.New(5)})
	}
	delta.Resources = append(delta.Resources, &discoveryv3.Resource{Name: "no-body", Version: "x"})
	cases := []struct{ msg, empty proto.Message }{{sotw, &discoveryv3.DiscoveryResponse{}}, {delta, &discoveryv3.DeltaDiscoveryResponse{}}}
	for _, tc := range cases {
		data, err := codec{}.Marshal(tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := (codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(data.Materialize())}, tc.empty); err != nil {
			t.Fatalf("%T: the codec's bytes do not decode: %v", tc.msg, err)
		}
		if !proto.Equal(tc.empty, tc.msg) {
			t.Fatalf("%T: decoded %v, sent %v", tc.msg, tc.empty, tc.msg)
		}
		if !references(data, big) {
			t.Errorf("%T: the 70 kB resource was copied, not referenced", tc.msg)
		}
	}
}

func references(data mem.BufferSlice, b []byte) bool {
	for _, piece := range data {
		if p := piece.ReadOnlyData(); len(p) == len(b) && &p[0] == &b[0] {
			return true
		}
	}
	return false
}
