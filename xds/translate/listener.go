package translate

import (
	"fmt"
	"slices"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
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

// listeners builds a sidecar's outbound listeners: one HTTP listener per port that any HTTP service
// uses ("0.0.0.0_<port>", routes from RDS "<port>"), a TCP proxy listener per TCP service port
// ("<vip>_<port>"), and, with iptables interception, the virtual outbound listener.
func (b *builder) listeners() []*listenerv3.Listener {
	bind := b.proxy.InterceptionMode == model.InterceptionNone
	taken := map[string]string{} // address:port → the service that has it
	var out []*listenerv3.Listener
	for _, port := range b.httpPorts() {
		name := fmt.Sprintf("0.0.0.0_%d", port)
		taken[name] = "http"
		out = append(out, b.httpListener(name, "0.0.0.0", port, bind))
	}
	for _, svc := range b.services {
		for _, port := range svc.Ports {
			if port.Protocol.IsHTTP() || port.Protocol == model.ProtocolUDP {
				continue
			}
			address := "0.0.0.0"
			if svc.Address != "" && !bind {
				address = svc.Address // with iptables, the original destination tells TCP services apart
			}
			name := fmt.Sprintf("%s_%d", address, port.Port)
			if owner, ok := taken[name]; ok {
				b.warnf("service %s port %d: listener %s is already taken by %s; no TCP listener", svc.Hostname, port.Port, name, owner)
				continue
			}
			taken[name] = svc.Hostname
			cluster := ClusterName(port.Port, "", svc.Hostname)
			out = append(out, &listenerv3.Listener{
				Name:             name,
				Address:          socketAddress(address, port.Port),
				BindToPort:       wrapperspb.Bool(bind),
				FilterChains:     []*listenerv3.FilterChain{tcpProxyChain(cluster, cluster)},
				TrafficDirection: corev3.TrafficDirection_OUTBOUND,
			})
		}
	}
	if !bind {
		out = append(out, &listenerv3.Listener{
			Name:             VirtualOutboundListener,
			Address:          socketAddress("0.0.0.0", VirtualOutboundPort),
			UseOriginalDst:   wrapperspb.Bool(true),
			FilterChains:     []*listenerv3.FilterChain{tcpProxyChain(PassthroughCluster, PassthroughCluster)},
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		})
	}
	return out
}

// httpPorts lists, sorted, the port numbers on which some visible service speaks HTTP.
func (b *builder) httpPorts() []uint32 {
	var ports []uint32
	for _, svc := range b.services {
		for _, p := range svc.Ports {
			if p.Protocol.IsHTTP() && !slices.Contains(ports, p.Port) {
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

// httpConnectionManager routes by RDS over ADS. The router filter is last, as Envoy and gRPC require.
func httpConnectionManager(statPrefix, routeConfig string) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix: statPrefix,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: routeConfig,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&routerv3.Router{})},
		}},
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
