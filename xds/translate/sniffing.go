package translate

import (
	"slices"
	"strconv"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	httpinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/http_inspector/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/minipilot/minipilot/model"
)

// Protocol detection, as Istio's outbound listeners do it for a port that declares no protocol (no
// name prefix, no appProtocol): the listener's TCP chains stay, and an HTTP chain, matched by the
// application protocols the HTTP inspector reads off the first bytes ("http/1.1", "h2c") of a
// plaintext connection, routes requests by route config "<port>", so a VirtualService's http rules
// apply; anything else (TLS, a binary protocol) takes the TCP chains. The inspectors wait for the
// mesh's protocolDetectionTimeout (0, Istio's default: for ever) and then let the connection go on
// as TCP.

// plaintextHTTPALPNs are the protocols the HTTP inspector reports for plaintext HTTP (Istio leaves
// HTTP/1.0 out unless asked: matching it would only get it refused).
var plaintextHTTPALPNs = []string{"http/1.1", "h2c"}

const rawBufferTransport = "raw_buffer"

// sniff adds the HTTP chain and the inspectors to an outbound TCP listener.
func (b *builder) sniff(l *listenerv3.Listener, port uint32) {
	name := l.Name
	hcm := httpConnectionManager("outbound_"+name, strconv.FormatUint(uint64(port), 10))
	l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
		FilterChainMatch: &listenerv3.FilterChainMatch{
			ApplicationProtocols: slices.Clone(plaintextHTTPALPNs),
			TransportProtocol:    rawBufferTransport,
		},
		Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)},
		}},
	})
	if len(l.ListenerFilters) == 0 {
		l.ListenerFilters = tlsInspectorFor([]*listenerv3.FilterChain{{FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: rawBufferTransport}}})
	}
	l.ListenerFilters = append(l.ListenerFilters, &listenerv3.ListenerFilter{
		Name:       "envoy.filters.listener.http_inspector",
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(&httpinspectorv3.HttpInspector{})},
	})
	l.ListenerFiltersTimeout = durationpb.New(b.snap.Mesh().ProtocolDetectionTimeout)
	l.ContinueOnListenerFiltersTimeout = true
}

// sniffedPorts lists, sorted, the port numbers on which some service the proxy sees declares no
// protocol; their route configs carry the virtual hosts of those services (and of HTTP ones).
func (b *builder) sniffedPorts() []uint32 { return b.portsWhere(model.Protocol.Sniffed) }
