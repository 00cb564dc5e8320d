package translate

import (
	"math"
	"net"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// edsTarget remembers what an EDS cluster balances over, and with which policy, so that its
// ClusterLoadAssignment can be built for this proxy.
type edsTarget struct {
	cluster string
	svc     *model.Service
	port    model.Port
	subset  *networking.Subset
	policy  policy
}

// endpoints builds one ClusterLoadAssignment per EDS cluster built so far (possibly empty: Envoy and
// gRPC both need an answer for every cluster they ask about), weighted and prioritised by locality
// for this proxy.
func (b *builder) endpoints() []*endpointv3.ClusterLoadAssignment {
	out := make([]*endpointv3.ClusterLoadAssignment, 0, len(b.eds))
	for _, t := range b.eds {
		out = append(out, b.localityLoadAssignment(t.cluster, b.readyEndpoints(t.svc, t.port, t.subset), t.policy, true))
	}
	return out
}

// readyEndpoints are the endpoints of a service port that are ready and, for a subset, carry its labels.
// A gRPC client gets each address once: grpc-go and the C core refuse an assignment that lists one
// twice, as two EndpointSlices of a service can (Envoy takes it, and weighs the address twice).
func (b *builder) readyEndpoints(svc *model.Service, port model.Port, subset *networking.Subset) []*model.Endpoint {
	var out []*model.Endpoint
	var seen map[string]bool
	for _, ep := range b.snap.Endpoints(svc.Hostname, port) {
		if !ep.Ready {
			continue
		}
		if subset != nil && !model.LabelsMatch(subset.Labels, ep.Labels) {
			continue
		}
		if b.proxy.Proxyless {
			addr := net.JoinHostPort(ep.Address, strconv.FormatUint(uint64(ep.Port), 10))
			if seen[addr] {
				b.warnOnce(serviceObject(svc), ResourceRef{}, "service %s port %d: endpoint %s is listed twice; gRPC clients are sent it once",
					svc.Hostname, port.Port, addr)
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[addr] = true
		}
		out = append(out, ep)
	}
	return out
}

// localityLoadAssignment groups endpoints by locality and applies the policy's locality load
// balancing for this proxy. withPriorityLabels is false for DNS clusters, whose endpoints are names,
// as Istio does not apply failoverPriority there.
func (b *builder) localityLoadAssignment(cluster string, eps []*model.Endpoint, p policy, withPriorityLabels bool) *endpointv3.ClusterLoadAssignment {
	return buildLoadAssignment(cluster, b.applyLocalityLB(groupByLocality(eps), p, withPriorityLabels))
}

// loadAssignment groups endpoints by locality, with no locality policy.
func loadAssignment(cluster string, eps []*model.Endpoint) *endpointv3.ClusterLoadAssignment {
	return buildLoadAssignment(cluster, groupByLocality(eps))
}

func buildLoadAssignment(cluster string, groups []*lbGroup) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: cluster, Endpoints: []*endpointv3.LocalityLbEndpoints{}}
	fitLocalityWeights(groups)
	for _, g := range groups {
		l := g.locality
		// The locality is always set, if only empty: gRPC refuses a group without one.
		lle := &endpointv3.LocalityLbEndpoints{
			Locality:            &corev3.Locality{Region: l.Region, Zone: l.Zone, SubZone: l.SubZone},
			LoadBalancingWeight: wrapperspb.UInt32(g.weight),
			Priority:            g.priority,
		}
		scaled := endpointWeights(g.eps)
		for i, ep := range g.eps {
			weight := ep.Weight
			if scaled != nil {
				weight = scaled[i]
			}
			lb := &endpointv3.LbEndpoint{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socketAddress(ep.Address, ep.Port),
				}},
			}
			if weight > 0 {
				lb.LoadBalancingWeight = wrapperspb.UInt32(weight)
			}
			lle.LbEndpoints = append(lle.LbEndpoints, lb)
		}
		cla.Endpoints = append(cla.Endpoints, lle)
	}
	return cla
}

// Envoy refuses an assignment in which the endpoints of one locality, or the localities of one
// priority, weigh more than a uint32 together. Weights that would are scaled down, keeping their
// ratios as closely as integers allow; nothing changes in the usual case.

// endpointWeights are the endpoints' weights as sent, 0 for unset (which Envoy takes as 1); nil
// when they are the endpoints' own, the usual case.
func endpointWeights(eps []*model.Endpoint) []uint32 {
	if uint64(endpointsWeight(eps)) < math.MaxUint32 {
		return nil
	}
	ws := make([]uint32, len(eps))
	for i, ep := range eps {
		ws[i] = ep.Weight
	}
	if scaled, ok := fitWeights(ws); ok {
		return scaled
	}
	return ws
}

// fitLocalityWeights scales the group weights of each priority to fit.
func fitLocalityWeights(groups []*lbGroup) {
	byPriority := map[uint32][]*lbGroup{}
	for _, g := range groups {
		byPriority[g.priority] = append(byPriority[g.priority], g)
	}
	for _, gs := range byPriority {
		ws := make([]uint32, len(gs))
		for i, g := range gs {
			ws[i] = g.weight
		}
		if scaled, ok := fitWeights(ws); ok {
			for i, g := range gs {
				g.weight = scaled[i]
			}
		}
	}
}

// fitWeights scales weights (0 counting as 1) so that they sum to a uint32 at most; false when they
// already do.
func fitWeights(ws []uint32) ([]uint32, bool) {
	sum := uint64(0)
	for _, w := range ws {
		sum += uint64(max(w, 1))
	}
	if sum <= math.MaxUint32 {
		return nil, false
	}
	// Each weight becomes at least 1, so the others share what that leaves.
	room := uint64(math.MaxUint32) - uint64(len(ws))
	out := make([]uint32, len(ws))
	for i, w := range ws {
		out[i] = uint32(max(uint64(max(w, 1))*room/sum, 1))
	}
	return out, true
}

func socketAddress(address string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       address,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}
