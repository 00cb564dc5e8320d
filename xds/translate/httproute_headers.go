package translate

import (
	"maps"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/crds/networking"
)

// headerOps are a VirtualService's header operations in Envoy's terms. Setting the authority (":authority"
// or "Host") is a host rewrite, not a header operation: Envoy refuses to modify pseudo-headers and Host.
type headerOps struct {
	requestAdd     []*corev3.HeaderValueOption
	requestRemove  []string
	responseAdd    []*corev3.HeaderValueOption
	responseRemove []string
	authority      string
}

// translateHeaders converts headers as Istio does: "set" overwrites (OVERWRITE_IF_EXISTS_OR_ADD), "add"
// appends (APPEND_IF_EXISTS_OR_ADD), sets before adds, each sorted by name; pseudo-headers and Host
// are dropped, except that a request authority becomes the host rewrite (from set over add).
func translateHeaders(h *networking.Headers) headerOps {
	if h == nil {
		return headerOps{}
	}
	var ops headerOps
	if req := h.Request; req != nil {
		set, setAuthority := headerValues(req.Set, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
		add, addAuthority := headerValues(req.Add, corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD)
		ops.requestAdd = append(set, add...)
		ops.requestRemove = dropInternal(req.Remove)
		ops.authority = addAuthority
		if setAuthority != "" {
			ops.authority = setAuthority
		}
	}
	if resp := h.Response; resp != nil {
		set, _ := headerValues(resp.Set, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
		add, _ := headerValues(resp.Add, corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD)
		ops.responseAdd = append(set, add...)
		ops.responseRemove = dropInternal(resp.Remove)
	}
	return ops
}

func headerValues(headers map[string]string, action corev3.HeaderValueOption_HeaderAppendAction) ([]*corev3.HeaderValueOption, string) {
	var out []*corev3.HeaderValueOption
	authority := ""
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		if isAuthorityHeader(name) {
			authority = headers[name]
		}
		if isInternalHeader(name) {
			continue
		}
		out = append(out, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: name, Value: headers[name]},
			AppendAction: action,
		})
	}
	return out, authority
}

// isInternalHeader says whether Envoy refuses to modify a header: pseudo-headers and Host.
func isInternalHeader(name string) bool {
	return strings.HasPrefix(name, ":") || strings.EqualFold(name, "host")
}

func isAuthorityHeader(name string) bool {
	return strings.EqualFold(name, ":authority") || strings.EqualFold(name, "host")
}

func dropInternal(names []string) []string {
	var out []string
	for _, n := range names {
		if !isInternalHeader(n) {
			out = append(out, n)
		}
	}
	return out
}

// applyToRoute sets the operations on a route (the authority is the route action's business).
func (o headerOps) applyToRoute(r *routev3.Route) {
	r.RequestHeadersToAdd, r.RequestHeadersToRemove = o.requestAdd, o.requestRemove
	r.ResponseHeadersToAdd, r.ResponseHeadersToRemove = o.responseAdd, o.responseRemove
}

// appendToRoute adds the operations after the route's own, so that a destination's "set" wins.
func (o headerOps) appendToRoute(r *routev3.Route) {
	r.RequestHeadersToAdd = append(r.RequestHeadersToAdd, o.requestAdd...)
	r.RequestHeadersToRemove = append(r.RequestHeadersToRemove, o.requestRemove...)
	r.ResponseHeadersToAdd = append(r.ResponseHeadersToAdd, o.responseAdd...)
	r.ResponseHeadersToRemove = append(r.ResponseHeadersToRemove, o.responseRemove...)
}

// applyToClusterWeight sets the operations of one of several weighted destinations on its entry.
func (o headerOps) applyToClusterWeight(cw *routev3.WeightedCluster_ClusterWeight) {
	cw.RequestHeadersToAdd, cw.RequestHeadersToRemove = o.requestAdd, o.requestRemove
	cw.ResponseHeadersToAdd, cw.ResponseHeadersToRemove = o.responseAdd, o.responseRemove
	if o.authority != "" {
		cw.HostRewriteSpecifier = &routev3.WeightedCluster_ClusterWeight_HostRewriteLiteral{HostRewriteLiteral: o.authority}
	}
}
