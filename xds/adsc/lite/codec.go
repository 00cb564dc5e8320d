package lite

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// frame is one message as bytes: the client encodes requests and reads responses itself (protowire),
// so gRPC must neither marshal nor unmarshal them.
type frame []byte

// rawCodec passes frames through. Its name is "proto", so the server sees the usual content type.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("lite: cannot send a %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*f)}, nil
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
