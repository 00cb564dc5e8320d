package load

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/minipilot/minipilot/xds/adsc/lite"
)

// Probe watches whether some resources hold a marker: a change is seen to have arrived at a sidecar
// when its probes say so. A probe looks at the raw bytes of each response as it comes and keeps only
// a yes or no per resource it looks at, so that thousands of sidecars hold next to nothing.
type Probe struct {
	TypeURL string
	// Name selects the resources the probe looks at: those whose name contains it (empty: all).
	Name []byte
	// Marker is what it looks for in their bytes.
	Marker []byte
}

// Expect is what a sidecar must hold once a change has arrived.
type Expect struct {
	Probe *Probe
	// Present says whether some resource the probe looks at must hold the marker, or none may.
	Present bool
}

// probeState is one sidecar's view through one probe: for each resource it looked at, whether the
// latest version held the marker.
type probeState map[string]bool

func (st probeState) apply(p *Probe, r *lite.Response) {
	if r.TypeURL != p.TypeURL {
		return
	}
	if r.Full {
		clear(st) // the response is the whole set: what it lacks is gone
	}
	for _, name := range r.Removed {
		delete(st, string(name))
	}
	for _, res := range r.Resources {
		if bytes.Contains(res.Name, p.Name) {
			st[string(res.Name)] = bytes.Contains(res.Body, p.Marker)
		}
	}
}

func (st probeState) present() bool {
	for _, holds := range st {
		if holds {
			return true
		}
	}
	return false
}

// probes is one sidecar's probe states.
type probes map[*Probe]probeState

func (ps probes) apply(list []*Probe, r *lite.Response) {
	for _, p := range list {
		st := ps[p]
		if st == nil {
			st = probeState{}
			ps[p] = st
		}
		st.apply(p, r)
	}
}

// holds says whether every expectation is met.
func (ps probes) holds(expect []Expect) bool {
	for _, e := range expect {
		if ps[e.Probe].present() != e.Present {
			return false
		}
	}
	return true
}

// addressMarker is how an endpoint address appears in a ClusterLoadAssignment: the address field of
// a SocketAddress (field 2), length-prefixed, so that 10.0.0.1 does not also match 10.0.0.10.
func addressMarker(ip string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), ip)
}

// weightMarker is how one destination of a weighted route appears in a RouteConfiguration: a
// ClusterWeight's name (field 1) followed by its weight (field 2, a UInt32Value), as a deterministic
// marshaller writes them.
func weightMarker(cluster string, weight uint32) []byte {
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), cluster)
	w := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(weight))
	return protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), w)
}
