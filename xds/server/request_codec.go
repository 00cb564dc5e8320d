package server

import (
	"hash/maphash"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
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
// ACK, naming what the last request named, is recognized by the hash of its names (key), taken in
// the one pass that reads the request, and its names are never decoded.
type request struct {
	msg *discoveryv3.DiscoveryRequest // every field but the names
	key namesKey                      // of the names, with the server's seed
	// data is the encoded request, in the frames it came in (held until free); nil when it names
	// nothing.
	data mem.BufferSlice
}

// unmarshal reads a request from what gRPC received, keeping a reference to its frames when the
// request names resources. The key hashes the names' encoding (hashing is streaming: the names'
// fields one after the other hash as their runs would).
func (r *request) unmarshal(data mem.BufferSlice, seed maphash.Seed) error {
	var h maphash.Hash
	h.SetSeed(seed)
	var rest []byte // every field but the names, for protobuf to decode
	n := 0
	for f := newFields(data); ; {
		if run, k := f.names(); k > 0 {
			h.Write(run)
			n += k
		}
		field, num, typ, ok, err := f.field()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if isName(num, typ) {
			h.Write(field)
			n++
		} else {
			rest = append(rest, field...)
		}
	}
	r.msg, r.key = &discoveryv3.DiscoveryRequest{}, namesKey{hash: h.Sum64(), n: n}
	if err := proto.Unmarshal(rest, r.msg); err != nil {
		return err
	}
	if n > 0 {
		data.Ref()
		r.data = data
	}
	return nil
}

// nameTag is the tag of resource_names (field 3, length-delimited) as it is encoded: one byte.
const nameTag = byte(requestNames)<<3 | byte(protowire.BytesType)

// shortName is the encoded size of the name field p starts with when its length fits in one byte
// (under 128 bytes: every resource name Istio makes); 0 otherwise, or when p is truncated.
func shortName(p []byte) int {
	if len(p) < 2 || p[0] != nameTag || p[1] >= 0x80 || 2+int(p[1]) > len(p) {
		return 0
	}
	return 2 + int(p[1])
}

// GetNode is the node the request names: the xDS guard (xds/auth) authorizes streams by it.
func (r *request) GetNode() *corev3.Node { return r.msg.GetNode() }

// free gives back the frames the names are read from; the request's names are gone after it.
func (r *request) free() {
	if r.data != nil {
		r.data.Free()
		r.data = nil
	}
}

// resourceNames decodes the request's names; a name that is not UTF-8 (as protobuf requires of a
// string) is an error.
func (r *request) resourceNames() ([]string, error) {
	names := make([]string, 0, r.key.n)
	bad := -1
	r.eachName(func(name []byte) {
		if bad < 0 && !utf8.Valid(name) {
			bad = len(names)
		}
		names = append(names, string(name))
	})
	if bad >= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "DiscoveryRequest (type %s): resource_names[%d] %q is not valid UTF-8",
			r.msg.GetTypeUrl(), bad, names[bad])
	}
	if len(names) == 0 {
		return nil, nil
	}
	return names, nil
}

// eachName calls f with each of the request's names, in order, as encoded (valid for the call).
func (r *request) eachName(f func([]byte)) {
	for fs := newFields(r.data); ; {
		field, num, typ, ok, _ := fs.field() // unmarshal read them all without an error
		if !ok {
			return
		}
		if isName(num, typ) {
			_, _, tag := protowire.ConsumeTag(field)
			name, _ := protowire.ConsumeBytes(field[tag:])
			f(name)
		}
	}
}

// decoded returns the request as protobuf would have decoded it.
func (r *request) decoded() (*discoveryv3.DiscoveryRequest, error) {
	names, err := r.resourceNames()
	if err != nil || names == nil {
		return r.msg, err
	}
	msg := proto.Clone(r.msg).(*discoveryv3.DiscoveryRequest)
	msg.ResourceNames = names
	return msg, nil
}

func isName(num protowire.Number, typ protowire.Type) bool {
	return num == requestNames && typ == protowire.BytesType
}
