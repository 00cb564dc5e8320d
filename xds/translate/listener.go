package translate

import (
	"fmt"
	"slices"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
)

// VirtualOutboundListener is the listener iptables redirects outbound traffic to.
const (
	VirtualOutboundListener = "virtualOutbound"
	VirtualOutboundPort     = 15001
)

// listeners builds a sidecar's listeners: one HTTP listener per port that any HTTP service uses
// ("0.0.0.0_<port>", routes from RDS "<port>"; "127.0.0.1_<port>" without iptables), the TCP and TLS listeners of the other service ports
// (tcproute.go) and, with iptables interception, the virtual outbound listener. (The inbound side
// for the sidecar's own workload is Inbound's, inbound.go.)
func (b *builder) listeners() []*listenerv3.Listener {
	bind := b.proxy.InterceptionMode == model.InterceptionNone
	taken := map[string]string{} // listener name → what has it, for TCP services that collide
	var out []*listenerv3.Listener
	address := outboundAddress(bind)
	for _, port := range b.httpPorts() {
		name := fmt.Sprintf("%s_%d", address, port)
		taken[name] = "http"
		out = append(out, b.httpListener(name, address, port, bind))
	}
	out = append(out, b.tcpListeners(taken, bind)...)
	if !bind {
		out = append(out, b.virtualOutboundListener())
	}
	return out
}

// outboundAddress is where outbound listeners listen. With iptables they bind nothing and match
// every destination; without (INTERCEPTION_MODE NONE) they bind localhost, as Istio does, so that
// applications call them there and the ports stay free on every other address.
func outboundAddress(bind bool) string {
	if bind {
		return "127.0.0.1"
	}
	return "0.0.0.0"
}

// httpPorts lists, sorted, the port numbers on which some visible service speaks HTTP.
func (b *builder) httpPorts() []uint32 { return b.portsWhere(model.Protocol.IsHTTP) }

// portsWhere lists, sorted, the port numbers on which some service the proxy's listeners serve
// has a protocol is accepts.
func (b *builder) portsWhere(is func(model.Protocol) bool) []uint32 {
	var ports []uint32
	for _, svc := range b.services {
		for _, p := range svc.Ports {
			if is(p.Protocol) && !slices.Contains(ports, p.Port) && b.listens(svc, p.Port) {
				ports = append(ports, p.Port)
			}
		}
	}
	slices.Sort(ports)
	return ports
}

func (b *builder) httpListener(name, address string, port uint32, bind bool) *listenerv3.Listener {
	hcm := httpConnectionManager("outbound_"+name, strconv.FormatUint(uint64(port), 10))
	return &listenerv3.Listener{
		Name:       name,
		Address:    socketAddress(address, port),
		BindToPort: wrapperspb.Bool(bind),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)},
			}},
		}},
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
	}
}

// httpConnectionManager routes by RDS over ADS, with the HTTP filters routes may configure (fault
// injection, CORS) before the router, which Envoy and gRPC require last. See httpfilters.go.
func httpConnectionManager(statPrefix, routeConfig string) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix: statPrefix,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: routeConfig,
		}},
		HttpFilters: envoyHTTPFilters(),
	}
}

func tcpProxyChain(statPrefix, cluster string) *listenerv3.FilterChain {
	proxy := &tcpproxyv3.TcpProxy{
		StatPrefix:       statPrefix,
		ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster},
	}
	return &listenerv3.FilterChain{Filters: []*listenerv3.Filter{{
		Name:       "envoy.filters.network.tcp_proxy",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(proxy)},
	}}}
}
