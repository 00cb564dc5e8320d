package translate

import (
	"net"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// A Sidecar's ingress listeners, as Istio builds them: when the proxy's Sidecar has any, they
// replace the ports found from the workload's endpoints. Each ingress port gets the inbound
// cluster "inbound|<port>||" to its defaultEndpoint (127.0.0.1:<port> when unset; 0.0.0.0 or :: is
// the workload's own IP) and a virtualInbound chain matching the port, HTTP or TCP by the port's
// protocol.

// ingressPort is one Sidecar ingress listener, resolved.
type ingressPort struct {
	port     uint32
	protocol model.Protocol
	address  string
	target   uint32
}

// sidecarIngress lists the proxy's Sidecar ingress ports; nil when it has none (or no Sidecar).
func (b *builder) sidecarIngress() (*model.SidecarResource, []ingressPort) {
	if b.scope == nil || b.scope.Sidecar == nil || len(b.scope.Sidecar.Spec.Ingress) == 0 {
		return nil, nil
	}
	sc := b.scope.Sidecar
	var out []ingressPort
	for _, in := range sc.Spec.Ingress {
		if in.Port == nil || in.Port.Number == 0 || in.Port.Number > 65535 {
			continue // the validator refuses it
		}
		p := ingressPort{port: in.Port.Number, protocol: model.ParseProtocol(in.Port.Protocol), address: "127.0.0.1", target: in.Port.Number}
		if in.DefaultEndpoint != "" {
			host, port, err := net.SplitHostPort(in.DefaultEndpoint)
			n, perr := strconv.ParseUint(port, 10, 16)
			if err != nil || perr != nil || n == 0 {
				b.warnOnce(sc.Meta, listenerRef(VirtualInboundListener), "Sidecar %s/%s: ingress port %d: defaultEndpoint %q is not host:port; left out",
					sc.Namespace, sc.Name, in.Port.Number, in.DefaultEndpoint)
				continue
			}
			p.target = uint32(n)
			switch host {
			case "0.0.0.0", "::", "":
				p.address = b.proxy.IPAddress
			default:
				p.address = host
			}
		}
		out = append(out, p)
	}
	return sc, out
}

// ingressCluster is the inbound cluster of a Sidecar ingress port.
func ingressCluster(in ingressPort) *clusterv3.Cluster {
	c := inboundCluster(in.target, model.Port{Port: in.port, Protocol: in.protocol}, nil)
	name := InboundClusterName(in.port)
	c.Name = name
	c.LoadAssignment = loadAssignment(name, []*model.Endpoint{{Address: in.address, Port: in.target, Ready: true}})
	return c
}

// ingressChain is the virtualInbound chain of a Sidecar ingress port.
func (b *builder) ingressChain(sc *model.SidecarResource, in ingressPort) *listenerv3.FilterChain {
	cluster := InboundClusterName(in.port)
	chain := &listenerv3.FilterChain{
		Name:             "0.0.0.0_" + strconv.FormatUint(uint64(in.port), 10),
		FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(in.port)},
	}
	if in.protocol.IsHTTP() {
		chain.Filters = []*listenerv3.Filter{inboundHTTPFilter(in.port, cluster)}
	} else {
		chain.Filters = []*listenerv3.Filter{b.tcpProxy(toCluster(cluster), nil, in.port, "")}
	}
	return b.provenance.chain(chain, sc.Meta)
}
