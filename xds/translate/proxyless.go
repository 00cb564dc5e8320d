package translate

import (
	"net"
	"slices"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/model"
)

// proxyless builds what a gRPC client asked for: an API listener per requested name
// ("<host>:<port>" as dialled with xds:///), a route config of the same name with the service's
// virtual host, and the clusters and endpoints those routes lead to. Nothing else: a gRPC client
// holds every resource it is sent.
func (b *builder) proxyless(listenerNames []string) Resources {
	var r Resources
	names := slices.Clone(listenerNames)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		svc, port, ok := b.resolveListenerName(name)
		if !ok {
			b.warn(model.Meta{}, listenerRef(name), "listener %q: no service with that name and port is visible from namespace %s", name, b.proxy.Namespace)
			continue
		}
		hcm := grpcConnectionManager(name, name)
		r.Listeners = append(r.Listeners, &listenerv3.Listener{
			Name:        name,
			ApiListener: &listenerv3.ApiListener{ApiListener: toAny(hcm)},
		})
		host, _, _ := strings.Cut(name, ":")
		rc := &routev3.RouteConfiguration{
			Name:         name,
			VirtualHosts: []*routev3.VirtualHost{b.virtualHost(svc, port, []string{host})},
		}
		grpcClientOf(b.proxy).adaptRoute(rc, ClusterName(port.Port, "", svc.Hostname))
		r.Routes = append(r.Routes, rc)
	}
	built := map[string]bool{}
	for _, cluster := range referencedClusters(r.Routes) {
		if built[cluster] {
			continue
		}
		built[cluster] = true
		if c := b.clusterByName(cluster); c != nil {
			r.Clusters = append(r.Clusters, c)
		}
	}
	r.Endpoints = b.endpoints()
	return r
}

// resolveListenerName finds the service a gRPC target names: an FQDN, or a short name relative to the
// client's namespace ("reviews", "reviews.default", "reviews.default.svc"); the port may be left out
// for a service with a single port.
func (b *builder) resolveListenerName(name string) (*model.Service, model.Port, bool) {
	host, portText, err := net.SplitHostPort(name)
	if err != nil {
		host, portText = name, ""
	}
	for _, h := range model.SearchNames(host, b.proxy.Namespace, b.snap.DomainSuffix) {
		svc := b.scopedService(h)
		if svc == nil {
			continue
		}
		if portText == "" {
			if len(svc.Ports) == 1 {
				return svc, svc.Ports[0], true
			}
			return nil, model.Port{}, false
		}
		n, err := strconv.ParseUint(portText, 10, 32)
		if err != nil {
			return nil, model.Port{}, false
		}
		if p, ok := svc.PortByNumber(uint32(n)); ok {
			return svc, p, true
		}
	}
	return nil, model.Port{}, false
}

// referencedClusters lists the clusters routes send to, in order of first use.
func referencedClusters(rcs []*routev3.RouteConfiguration) []string {
	var out []string
	for _, rc := range rcs {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				action := r.GetRoute()
				if c := action.GetCluster(); c != "" {
					out = append(out, c)
				}
				for _, wc := range action.GetWeightedClusters().GetClusters() {
					out = append(out, wc.Name)
				}
			}
		}
	}
	return out
}

// clusterByName builds one outbound cluster from its Istio name, "outbound|<port>|<subset>|<host>".
func (b *builder) clusterByName(name string) *clusterv3.Cluster {
	parts := strings.Split(name, "|")
	if len(parts) != 4 || parts[0] != "outbound" {
		return nil
	}
	svc := b.service(parts[3])
	n, err := strconv.ParseUint(parts[1], 10, 32)
	if svc == nil || err != nil {
		return nil
	}
	port, ok := svc.PortByNumber(uint32(n))
	if !ok {
		return nil
	}
	dr := b.destinationRule(svc)
	subset := subsetNamed(dr, parts[2])
	if parts[2] != "" && subset == nil {
		return nil // the route's warning already says the subset is undefined
	}
	return b.serviceCluster(svc, port, dr, subset)
}
