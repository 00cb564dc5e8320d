package lite

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// frame is a response as bytes: the client encodes requests and reads responses itself
// (protowire), so gRPC must neither marshal nor unmarshal them.
type frame []byte

// message is a request to send: its fields, then its names' encoding, which the streams subscribed
// to the same names share (never written to once made).
type message struct{ head, names []byte }

// rawCodec passes frames through. Its name is "proto", so the server sees the usual content type.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *message:
		if len(m.names) == 0 {
			return mem.BufferSlice{mem.SliceBuffer(m.head)}, nil
		}
		return mem.BufferSlice{mem.SliceBuffer(m.head), mem.SliceBuffer(m.names)}, nil
	}
	return nil, fmt.Errorf("lite: cannot send a %T", v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("lite: cannot receive into a %T", v)
	}
	// One copy into a buffer of our own: gRPC frees its buffers when this returns, and the
	// resources of a response alias this one.
	*f = data.Materialize()
	return nil
}
