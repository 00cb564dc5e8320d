package server

import (
	"hash/maphash"
	"unicode/utf8"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// requestNames is DiscoveryRequest.resource_names.
const requestNames protowire.Number = 3

// request is a State-of-the-World request as a stream reads it. Most requests are ACKs, and an
// Envoy's EDS ACK names every cluster it has: decoded as protobuf decodes it, that is a string per
// name, per ACK, per stream, on every endpoint push (at 2,000 streams, half a million strings and
// 40 MB a push, half of all the server allocated, and the garbage collections that brings). So
// the names stay encoded, in the buffer they arrived in, until something needs them: the usual
// ACK, naming what the last request named, is recognized by a hash of the encoded names
// (namesKey), and its names are never decoded.
type request struct {
	msg *discoveryv3.DiscoveryRequest // every field but the names (unless decoded says otherwise)
	// wire is the encoded request, in buf (held until free); nil when msg was decoded whole.
	wire []byte
	buf  mem.Buffer
}

// unmarshal reads a request from what gRPC received, keeping a reference to its buffer.
func (r *request) unmarshal(data mem.BufferSlice) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	b := buf.ReadOnlyData()
	rest, names, err := splitNames(b)
	if err != nil {
		buf.Free()
		return err
	}
	r.msg = &discoveryv3.DiscoveryRequest{}
	if err := proto.Unmarshal(rest, r.msg); err != nil {
		buf.Free()
		return err
	}
	if !names {
		buf.Free()
		return nil
	}
	r.wire, r.buf = b, buf
	return nil
}

// free gives back the buffer the names are read from; the request's names are gone after it.
func (r *request) free() {
	if r.buf != nil {
		r.buf.Free()
		r.buf, r.wire = nil, nil
	}
}

// namesKey is conn.namesKey of the request's names, computed without decoding them.
func (r *request) namesKey(seed maphash.Seed) namesKey {
	if r.wire == nil {
		return namesKeyOf(seed, r.msg.GetResourceNames())
	}
	var h maphash.Hash
	h.SetSeed(seed)
	n := 0
	eachName(r.wire, func(name []byte) {
		h.Write(name)
		h.WriteByte(0)
		n++
	})
	return namesKey{hash: h.Sum64(), n: n}
}

// resourceNames decodes the request's names; a name that is not UTF-8 (as protobuf requires of a
// string) is an error.
func (r *request) resourceNames() ([]string, error) {
	if r.wire == nil {
		return r.msg.GetResourceNames(), nil
	}
	var names []string
	var bad bool
	eachName(r.wire, func(name []byte) {
		bad = bad || !utf8.Valid(name)
		names = append(names, string(name))
	})
	if bad {
		return nil, status.Error(codes.InvalidArgument, "DiscoveryRequest.resource_names: a name is not valid UTF-8")
	}
	return names, nil
}

// decoded returns the request as protobuf would have decoded it.
func (r *request) decoded() (*discoveryv3.DiscoveryRequest, error) {
	if r.wire == nil {
		return r.msg, nil
	}
	names, err := r.resourceNames()
	if err != nil {
		return nil, err
	}
	msg := proto.Clone(r.msg).(*discoveryv3.DiscoveryRequest)
	msg.ResourceNames = names
	return msg, nil
}

// splitNames checks the framing of an encoded request and returns its fields other than the names
// (b itself when it has no names), and whether it has names.
func splitNames(b []byte) (rest []byte, names bool, err error) {
	others := 0
	for p := b; len(p) > 0; {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 {
			return nil, false, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, p[n:])
		if m < 0 {
			return nil, false, protowire.ParseError(m)
		}
		if isName(num, typ) {
			names = true
		} else {
			others += n + m
		}
		p = p[n+m:]
	}
	if !names {
		return b, false, nil
	}
	rest = make([]byte, 0, others)
	for p := b; len(p) > 0; {
		num, typ, n := protowire.ConsumeTag(p)
		m := protowire.ConsumeFieldValue(num, typ, p[n:])
		if !isName(num, typ) {
			rest = append(rest, p[:n+m]...)
		}
		p = p[n+m:]
	}
	return rest, true, nil
}

func isName(num protowire.Number, typ protowire.Type) bool {
	return num == requestNames && typ == protowire.BytesType
}

// eachName calls f with each name of an encoded request whose framing splitNames checked.
func eachName(b []byte, f func([]byte)) {
	for p := b; len(p) > 0; {
		num, typ, n := protowire.ConsumeTag(p)
		m := protowire.ConsumeFieldValue(num, typ, p[n:])
		if isName(num, typ) {
			name, _ := protowire.ConsumeBytes(p[n:])
			f(name)
		}
		p = p[n+m:]
	}
}
