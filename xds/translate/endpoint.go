package translate

import (
	"cmp"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// edsTarget remembers what an EDS cluster balances over, so its ClusterLoadAssignment can be built.
type edsTarget struct {
	cluster string
	svc     *model.Service
	port    model.Port
	subset  *networking.Subset
}

// endpoints builds one ClusterLoadAssignment per EDS cluster built so far (possibly empty: Envoy and
// gRPC both need an answer for every cluster they ask about).
func (b *builder) endpoints() []*endpointv3.ClusterLoadAssignment {
	out := make([]*endpointv3.ClusterLoadAssignment, 0, len(b.eds))
	for _, t := range b.eds {
		out = append(out, loadAssignment(t.cluster, b.readyEndpoints(t.svc, t.port, t.subset)))
	}
	return out
}

// readyEndpoints are the endpoints of a service port that are ready and, for a subset, carry its labels.
func (b *builder) readyEndpoints(svc *model.Service, port model.Port, subset *networking.Subset) []*model.Endpoint {
	var out []*model.Endpoint
	for _, ep := range b.snap.Endpoints(svc.Hostname, port) {
		if !ep.Ready {
			continue
		}
		if subset != nil && !model.LabelsMatch(subset.Labels, ep.Labels) {
			continue
		}
		out = append(out, ep)
	}
	return out
}

// loadAssignment groups endpoints by locality, localities in a stable order.
func loadAssignment(cluster string, eps []*model.Endpoint) *endpointv3.ClusterLoadAssignment {
	byLocality := map[model.Locality][]*endpointv3.LbEndpoint{}
	for _, ep := range eps {
		lb := &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: socketAddress(ep.Address, ep.Port),
			}},
		}
		if ep.Weight > 0 {
			lb.LoadBalancingWeight = wrapperspb.UInt32(ep.Weight)
		}
		byLocality[ep.Locality] = append(byLocality[ep.Locality], lb)
	}
	localities := make([]model.Locality, 0, len(byLocality))
	for l := range byLocality {
		localities = append(localities, l)
	}
	slices.SortFunc(localities, func(a, b model.Locality) int { return cmp.Compare(a.String(), b.String()) })
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: cluster, Endpoints: []*endpointv3.LocalityLbEndpoints{}}
	for _, l := range localities {
		// The locality is always set, if only empty: gRPC refuses a group without one.
		lle := &endpointv3.LocalityLbEndpoints{
			Locality:            &corev3.Locality{Region: l.Region, Zone: l.Zone, SubZone: l.SubZone},
			LbEndpoints:         byLocality[l],
			LoadBalancingWeight: wrapperspb.UInt32(uint32(len(byLocality[l]))),
		}
		cla.Endpoints = append(cla.Endpoints, lle)
	}
	return cla
}

func socketAddress(address string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       address,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}
