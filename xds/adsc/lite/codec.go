package lite

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// frame receives a response as bytes: the client encodes requests and reads responses itself
// (protowire), so gRPC must neither marshal nor unmarshal them. gRPC hands the bytes to read while
// it still holds its buffer, so that a response is read where it lies: copied out, every response
// was a fresh allocation (megabytes of route configs for each of hundreds of sidecars), and copying
// was half of the load tool's own CPU.
type frame struct {
	read func(b []byte) error
	err  error // read's: the stream itself is sound
}

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
	// gRPC frees its buffers when this returns: whatever read keeps of them, it copies. A message
	// gRPC received in pieces is joined first.
	if len(data) == 1 {
		f.err = f.read(data[0].ReadOnlyData())
	} else {
		f.err = f.read(data.Materialize())
	}
	return nil
}
