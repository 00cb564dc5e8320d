package lite

import (
	"errors"
	"testing"

	"google.golang.org/grpc/mem"
)

// A response is read where gRPC holds it, whole even when gRPC received it in pieces, and what
// reading it found wrong is the frame's, not gRPC's (the stream stays sound).
func TestFrameReadsTheResponseWhole(t *testing.T) {
	for _, pieces := range []mem.BufferSlice{
		{mem.SliceBuffer([]byte("abcdef"))},
		{mem.SliceBuffer([]byte("ab")), mem.SliceBuffer([]byte("cd")), mem.SliceBuffer([]byte("ef"))},
	} {
		var got string
		f := frame{read: func(b []byte) error { got = string(b); return errors.New("refused") }}
		if err := (rawCodec{}).Unmarshal(pieces, &f); err != nil {
			t.Fatalf("%d pieces: %v", len(pieces), err)
		}
		if got != "abcdef" || f.err == nil {
			t.Errorf("%d pieces: read %q (err %v), want abcdef and read's error", len(pieces), got, f.err)
		}
	}
}
