package server

import (
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// fields reads a message's top-level fields where gRPC received it: in the frames it came in (16 KB
// each), not copied into one buffer first. An Envoy's EDS ACK names every cluster it has (140 KB at
// 3,000 clusters), so that copy was 140 KB a stream a push, held in a pool of buffers that the
// garbage collector counts as live. A field that straddles two frames is put together in scratch.
type fields struct {
	pieces  mem.BufferSlice
	next    int    // the piece after cur
	cur     []byte // what is left of the current piece
	after   int    // bytes in the pieces after cur
	scratch []byte
}

func newFields(pieces mem.BufferSlice) fields { return fields{pieces: pieces, after: pieces.Len()} }

// field returns the next field whole (tag, and value), its number and type; ok is false at the end
// of the message, and err says why a field does not parse. The bytes are valid until the next call.
func (f *fields) field() (field []byte, num protowire.Number, typ protowire.Type, ok bool, err error) {
	if !f.fill() {
		return nil, 0, 0, false, nil
	}
	if size := shortName(f.cur); size > 0 { // the usual field, whole in this piece
		field, f.cur = f.cur[:size], f.cur[size:]
		return field, requestNames, protowire.BytesType, true, nil
	}
	var head [20]byte // a tag and a length, at their longest (10 bytes each)
	h := f.peek(head[:0])
	num, typ, tagLen := protowire.ConsumeTag(h)
	if tagLen < 0 {
		return nil, 0, 0, false, protowire.ParseError(tagLen)
	}
	var size int
	switch typ {
	case protowire.VarintType:
		_, n := protowire.ConsumeVarint(h[tagLen:])
		if n < 0 {
			return nil, 0, 0, false, protowire.ParseError(n)
		}
		size = tagLen + n
	case protowire.Fixed32Type:
		size = tagLen + 4
	case protowire.Fixed64Type:
		size = tagLen + 8
	case protowire.BytesType:
		v, n := protowire.ConsumeVarint(h[tagLen:])
		if n < 0 {
			return nil, 0, 0, false, protowire.ParseError(n)
		}
		if v > uint64(f.remaining()) {
			return nil, 0, 0, false, protowire.ParseError(-1) // truncated, as protowire says it
		}
		size = tagLen + n + int(v)
	default: // groups (no xDS client sends one): protowire walks them, in the rest made one slice once
		f.flatten()
		n := protowire.ConsumeFieldValue(num, typ, f.cur[tagLen:])
		if n < 0 {
			return nil, 0, 0, false, protowire.ParseError(n)
		}
		size = tagLen + n
	}
	field = f.take(size)
	if n := protowire.ConsumeFieldValue(num, typ, field[tagLen:]); n != size-tagLen {
		return nil, 0, 0, false, protowire.ParseError(min(n, -1))
	}
	return field, num, typ, true, nil
}

// names consumes the run of name fields that lie whole in the current piece, from here: the usual
// request is one run a frame, hashed at once without a call per name.
func (f *fields) names() (run []byte, count int) {
	i := 0
	for {
		size := shortName(f.cur[i:])
		if size == 0 {
			break
		}
		i, count = i+size, count+1
	}
	run, f.cur = f.cur[:i], f.cur[i:]
	return run, count
}

// fill makes cur non-empty, moving to the next non-empty piece; false at the end.
func (f *fields) fill() bool {
	for len(f.cur) == 0 {
		if f.next == len(f.pieces) {
			return false
		}
		f.cur = f.pieces[f.next].ReadOnlyData()
		f.next++
		f.after -= len(f.cur)
	}
	return true
}

// peek is up to cap(into) bytes from here on, without consuming them.
func (f *fields) peek(into []byte) []byte {
	if len(f.cur) >= cap(into) {
		return f.cur[:cap(into)]
	}
	into = append(into, f.cur...)
	for i := f.next; i < len(f.pieces) && len(into) < cap(into); i++ {
		b := f.pieces[i].ReadOnlyData()
		into = append(into, b[:min(len(b), cap(into)-len(into))]...)
	}
	return into
}

func (f *fields) remaining() int { return len(f.cur) + f.after }

// flatten makes the rest of the message cur, copying it once (a hostile request of many groups is
// then walked in place, not copied again for each).
func (f *fields) flatten() {
	if f.after == 0 {
		return
	}
	rest := make([]byte, 0, f.remaining())
	rest = append(rest, f.cur...)
	for ; f.next < len(f.pieces); f.next++ {
		rest = append(rest, f.pieces[f.next].ReadOnlyData()...)
	}
	f.cur, f.after = rest, 0
}

// take consumes n bytes (at most what remains), as one slice.
func (f *fields) take(n int) []byte {
	if len(f.cur) >= n {
		b := f.cur[:n]
		f.cur = f.cur[n:]
		return b
	}
	f.scratch = append(f.scratch[:0], f.cur...)
	f.cur = nil
	for len(f.scratch) < n && f.fill() {
		k := min(len(f.cur), n-len(f.scratch))
		f.scratch = append(f.scratch, f.cur[:k]...)
		f.cur = f.cur[k:]
	}
	return f.scratch
}
