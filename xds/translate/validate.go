package translate

import (
	"fmt"
	"net/netip"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
)

// Validation. A client refuses a whole response when one resource in it is invalid, so nothing
// invalid is sent: every resource is checked with the proto's own rules (ValidateAll, the ones Envoy
// checks on receipt), including the filter configs packed in Any fields, which ValidateAll does not
// enter, and with the few rules Envoy adds (IP addresses where it resolves none, one host for a
// LOGICAL_DNS cluster). What fails is cut as small as it can be, so that it costs only what the
// object responsible configures:
//   - an endpoint is left out of its assignment (an assignment that still fails is sent empty, so
//     that its cluster still gets its answer);
//   - a cluster is left out, and the warning names its DestinationRule when the cluster is valid
//     without that rule's policy, else its service. Routes and tcp_proxy filters that lead to it
//     stay: Envoy takes a route to an unknown cluster and answers its requests 503, and closes the
//     connections a tcp_proxy would send to one. Removing them instead would let the traffic fall
//     to another route or filter chain, or through the passthrough cluster, without the policy
//     (TLS origination, say) the rule asked for;
//   - the routes a VirtualService contributes to a virtual host are left out (the virtual host stays
//     and keeps its domains, so that its requests get 404 rather than some other host's routes),
//     then the virtual host, then the route config;
//   - a filter chain is left out, then the listener.

// validated is a generated Envoy message.
type validated interface {
	proto.Message
	ValidateAll() error
}

// validate checks every resource and cuts out what fails, as above.
func (b *builder) validate(r *Resources) {
	for _, cla := range r.Endpoints {
		b.validEndpoints(r, cla)
	}
	keptEDS := map[string]bool{}
	clusters := r.Clusters[:0]
	for _, c := range r.Clusters {
		if !b.validCluster(r, c) {
			continue
		}
		if c.GetType() == clusterv3.Cluster_EDS {
			keptEDS[c.Name] = true
		}
		clusters = append(clusters, c)
	}
	r.Clusters = clusters
	// The assignment of a cluster left out is left out with it: nobody will ask for it.
	endpoints := r.Endpoints[:0]
	for _, cla := range r.Endpoints {
		if keptEDS[cla.ClusterName] {
			endpoints = append(endpoints, cla)
		}
	}
	r.Endpoints = endpoints
	listeners := r.Listeners[:0]
	for _, l := range r.Listeners {
		if b.validListener(r, l) {
			listeners = append(listeners, l)
		}
	}
	r.Listeners = listeners
	routes := r.Routes[:0]
	for _, rc := range r.Routes {
		if b.validRouteConfig(r, rc) {
			routes = append(routes, rc)
		}
	}
	r.Routes = routes
}

// validEndpoints cuts the endpoints Envoy refuses out of an EDS assignment; an assignment that still
// fails is replaced by an empty one, so that its cluster still gets an answer.
func (b *builder) validEndpoints(r *Resources, cla *endpointv3.ClusterLoadAssignment) {
	b.validEndpointsOf(r, cla, serviceObject(b.provenance.clusters[cla.ClusterName].svc))
}

// validEndpointsOf is validEndpoints with the object warnings name.
func (b *builder) validEndpointsOf(r *Resources, cla *endpointv3.ClusterLoadAssignment, obj model.Meta) {
	if assignmentValid(cla, true) {
		return // the usual case, decided without validating endpoint by endpoint
	}
	pruneEndpoints(r, cla, true, obj, endpointsRef(cla.ClusterName))
	if err := validateDeep(cla); err != nil {
		r.warn(obj, endpointsRef(cla.ClusterName), "endpoints %s are sent empty: they fail validation: %v", cla.ClusterName, err)
		cla.Endpoints, cla.Policy, cla.NamedEndpoints = []*endpointv3.LocalityLbEndpoints{}, nil, nil
	}
}

// pruneEndpoints leaves out the endpoints of an assignment that fail validation or, where Envoy
// needs one, have no IP address (it resolves no names for EDS and STATIC clusters), and the
// locality groups that still fail.
func pruneEndpoints(r *Resources, cla *endpointv3.ClusterLoadAssignment, needIP bool, obj model.Meta, res ResourceRef) {
	if assignmentValid(cla, needIP) {
		return
	}
	for _, lle := range cla.Endpoints {
		kept := lle.LbEndpoints[:0]
		for _, lb := range lle.LbEndpoints {
			if err := endpointError(lb, needIP); err != nil {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				r.warn(obj, res, "%s %s: endpoint %q port %d left out: %v", res.Type, res.Name, sa.GetAddress(), sa.GetPortValue(), err)
				continue
			}
			kept = append(kept, lb)
		}
		lle.LbEndpoints = kept
	}
	groups := cla.Endpoints[:0]
	for _, lle := range cla.Endpoints {
		if err := validateDeep(lle); err != nil {
			r.warn(obj, res, "%s %s: the endpoints of locality %q left out: %v", res.Type, res.Name, localityName(lle), err)
			continue
		}
		groups = append(groups, lle)
	}
	if len(groups) < len(cla.Endpoints) {
		// Priorities run 0..N without a gap, or gRPC refuses the assignment.
		var seen []uint32
		for _, lle := range groups {
			if !slices.Contains(seen, lle.Priority) {
				seen = append(seen, lle.Priority)
			}
		}
		slices.Sort(seen)
		for _, lle := range groups {
			lle.Priority = uint32(slices.Index(seen, lle.Priority))
		}
	}
	cla.Endpoints = groups
}

// assignmentValid says whether Envoy takes the assignment as it is.
func assignmentValid(cla *endpointv3.ClusterLoadAssignment, needIP bool) bool {
	if validateDeep(cla) != nil {
		return false
	}
	if needIP {
		for _, lle := range cla.Endpoints {
			for _, lb := range lle.LbEndpoints {
				if _, err := netip.ParseAddr(lb.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()); err != nil {
					return false
				}
			}
		}
	}
	return true
}

func endpointError(lb *endpointv3.LbEndpoint, needIP bool) error {
	if err := validateDeep(lb); err != nil {
		return err
	}
	if a := lb.GetEndpoint().GetAddress().GetSocketAddress().GetAddress(); needIP {
		if _, err := netip.ParseAddr(a); err != nil {
			return fmt.Errorf("not an IP address, which Envoy needs here")
		}
	}
	return nil
}

func localityName(lle *endpointv3.LocalityLbEndpoints) string {
	l := lle.GetLocality()
	return model.Locality{Region: l.GetRegion(), Zone: l.GetZone(), SubZone: l.GetSubZone()}.String()
}

// validCluster cuts bad endpoints out of a cluster's own load assignment and says whether what is
// left is valid.
func (b *builder) validCluster(r *Resources, c *clusterv3.Cluster) bool {
	src := b.provenance.clusters[c.Name]
	if la := c.LoadAssignment; la != nil {
		pruneEndpoints(r, la, c.GetType() == clusterv3.Cluster_STATIC, serviceObject(src.svc), clusterRef(c.Name))
	}
	if c.GetType() == clusterv3.Cluster_LOGICAL_DNS && hostCount(c.LoadAssignment) != 1 {
		r.warn(serviceObject(src.svc), clusterRef(c.Name),
			"cluster %s left out: a LOGICAL_DNS cluster resolves exactly one name, and the service has no ready endpoint to take it from", c.Name)
		return false
	}
	err := validateDeep(c)
	if err == nil {
		return true
	}
	obj := serviceObject(src.svc)
	if src.dr != nil && b.validWithoutPolicy(src) {
		obj = src.dr.Meta
		r.warn(obj, clusterRef(c.Name), "cluster %s left out: it fails validation: %v (DestinationRule %s/%s sets it; the cluster is valid without that rule's policy)",
			c.Name, err, obj.Namespace, obj.Name)
		return false
	}
	r.warn(obj, clusterRef(c.Name), "cluster %s left out: it fails validation: %v", c.Name, err)
	return false
}

// validWithoutPolicy says whether the cluster would pass validation without its DestinationRule's
// policy, which makes the rule the one to blame. It builds the cluster again on a scratch builder,
// so that nothing of it reaches this translation.
func (b *builder) validWithoutPolicy(src clusterSource) bool {
	var c *clusterv3.Cluster
	if src.inbound != 0 {
		c = inboundCluster(src.inbound, src.port, nil)
	} else {
		scratch := &builder{snap: b.snap, proxy: b.proxy, fixed: b.fixed}
		c = scratch.buildCluster(src.svc, src.port, src.subset, policy{})
	}
	if c == nil {
		return false
	}
	if la := c.LoadAssignment; la != nil {
		pruneEndpoints(&Resources{}, la, c.GetType() == clusterv3.Cluster_STATIC, model.Meta{}, ResourceRef{})
	}
	return validateDeep(c) == nil
}

func hostCount(la *endpointv3.ClusterLoadAssignment) int {
	n := 0
	for _, lle := range la.GetEndpoints() {
		n += len(lle.GetLbEndpoints())
	}
	return n
}

// validListener cuts the filter chains that fail out of a listener and says whether it is valid.
func (b *builder) validListener(r *Resources, l *listenerv3.Listener) bool {
	err := listenerError(l)
	if err == nil {
		return true
	}
	var obj model.Meta // who answers for the listener: the first chain's object
	if len(l.FilterChains) > 0 {
		obj = b.provenance.chains[l.FilterChains[0]]
		chains := l.FilterChains[:0]
		for _, c := range l.FilterChains {
			if cerr := validateDeep(c); cerr != nil {
				r.warn(b.provenance.chains[c], listenerRef(l.Name), "listener %s: a filter chain%s fails validation: %v; left out",
					l.Name, describeMatch(c.FilterChainMatch), cerr)
				continue
			}
			chains = append(chains, c)
		}
		l.FilterChains = chains
		if len(chains) == 0 {
			r.warn(obj, listenerRef(l.Name), "listener %s left out: no filter chain of it is left", l.Name)
			return false
		}
		if err = listenerError(l); err == nil {
			return true
		}
	}
	r.warn(obj, listenerRef(l.Name), "listener %s left out: it fails validation: %v", l.Name, err)
	return false
}

// listenerError is what Envoy would refuse the listener for: its proto rules, and an address that
// is not an IP (Envoy resolves no names for listeners).
func listenerError(l *listenerv3.Listener) error {
	if err := validateDeep(l); err != nil {
		return err
	}
	if sa := l.GetAddress().GetSocketAddress(); sa != nil {
		if _, err := netip.ParseAddr(sa.GetAddress()); err != nil {
			return fmt.Errorf("address %q is not an IP address", sa.GetAddress())
		}
	}
	return nil
}

// validRouteConfig cuts the routes, then the virtual hosts, that fail out of a route config and says
// whether it is valid.
func (b *builder) validRouteConfig(r *Resources, rc *routev3.RouteConfiguration) bool {
	err := b.validateRouteConfig(rc)
	if err == nil {
		return true
	}
	if b.revalidated != nil {
		b.revalidated[rc.Name] = true
	}
	hosts := rc.VirtualHosts[:0]
	for _, vh := range rc.VirtualHosts {
		if b.validVirtualHost(r, rc.Name, vh) {
			hosts = append(hosts, vh)
		}
	}
	rc.VirtualHosts = hosts
	if err = validateDeep(rc); err == nil {
		return true
	}
	r.warn(model.Meta{}, routeRef(rc.Name), "route %s left out: it fails validation: %v", rc.Name, err)
	return false
}

// validateRouteConfig is validateDeep(rc), but of a route config with kept virtual hosts
// (keptroutes.go) it validates the others alone: the kept ones are as they were when a route config
// of theirs passed (ValidateAll checks each virtual host on its own, and validateDeep the Anys in each).
func (b *builder) validateRouteConfig(rc *routev3.RouteConfiguration) error {
	if !b.standInRoutes[rc.Name] {
		return validateDeep(rc)
	}
	hosts := rc.VirtualHosts
	rc.VirtualHosts = nil
	err := validateDeep(rc)
	rc.VirtualHosts = hosts
	for _, vh := range hosts {
		if _, kept := b.standIns[vh]; !kept && err == nil {
			err = validateDeep(vh)
		}
	}
	return err
}

// validVirtualHost leaves out every route of the rules that wrote a route that fails, and says
// whether the virtual host is then valid.
func (b *builder) validVirtualHost(r *Resources, rcName string, vh *routev3.VirtualHost) bool {
	err := validateDeep(vh)
	if err == nil {
		return true
	}
	vhObj := b.provenance.vhosts[vh]
	bad := map[model.Meta]error{}
	var order []model.Meta
	for _, route := range vh.Routes {
		if rerr := validateDeep(route); rerr != nil {
			from := b.provenance.routes[route]
			if _, seen := bad[from]; !seen {
				bad[from] = fmt.Errorf("route %q: %w", route.Name, rerr)
				order = append(order, from)
			}
		}
	}
	if len(bad) > 0 {
		routes := vh.Routes[:0]
		for _, route := range vh.Routes {
			if _, drop := bad[b.provenance.routes[route]]; !drop {
				routes = append(routes, route)
			}
		}
		vh.Routes = routes
		for _, from := range order {
			r.warn(from, routeRef(rcName), "route %s: virtual host %s: the routes of %s are left out (what they would route gets the host's other routes, or 404): %v",
				rcName, vh.Name, describeObject(from), bad[from])
		}
		if err = validateDeep(vh); err == nil {
			return true
		}
	}
	r.warn(vhObj, routeRef(rcName), "route %s: virtual host %s left out: it fails validation: %v", rcName, vh.Name, err)
	return false
}

// describeObject names an object in a message: "VirtualService ns/name".
func describeObject(m model.Meta) string {
	if m.Kind == "" {
		return "an unknown object"
	}
	return fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name)
}
