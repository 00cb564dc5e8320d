package translate

import (
	"math"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

var redirectCodes = map[uint32]routev3.RedirectAction_RedirectResponseCode{
	0:   routev3.RedirectAction_MOVED_PERMANENTLY, // Istio's default
	301: routev3.RedirectAction_MOVED_PERMANENTLY,
	302: routev3.RedirectAction_FOUND,
	303: routev3.RedirectAction_SEE_OTHER,
	307: routev3.RedirectAction_TEMPORARY_REDIRECT,
	308: routev3.RedirectAction_PERMANENT_REDIRECT,
}

// redirectAction answers with a redirect as Istio builds it. Envoy cannot take the port from the
// request, but routes are built per port, so FROM_REQUEST_PORT is this port; the scheme's default port
// is left out of the Location. It returns false for a code Envoy has no name for.
func redirectAction(rd *networking.HTTPRedirect, port uint32) (*routev3.Route_Redirect, bool) {
	code, ok := redirectCodes[rd.RedirectCode]
	if !ok {
		return nil, false
	}
	action := &routev3.RedirectAction{
		HostRedirect:         rd.Authority,
		PathRewriteSpecifier: &routev3.RedirectAction_PathRedirect{PathRedirect: rd.URI},
		ResponseCode:         code,
	}
	if rd.Scheme != "" {
		action.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: rd.Scheme}
	}
	if rd.Port != 0 || rd.DerivePort != "" {
		switch {
		case rd.Port != 0:
			action.PortRedirect = rd.Port
		case rd.DerivePort == "FROM_REQUEST_PORT":
			action.PortRedirect = port
		}
		scheme := rd.Scheme
		if scheme == "" {
			scheme = "http" // a sidecar never terminates TLS
		}
		if scheme == "http" && action.PortRedirect == 80 || scheme == "https" && action.PortRedirect == 443 {
			action.PortRedirect = 0
		}
	}
	return &routev3.Route_Redirect{Redirect: action}, true
}

// directResponseAction answers with a fixed status and body.
func directResponseAction(dr *networking.HTTPDirectResponse) *routev3.Route_DirectResponse {
	action := &routev3.DirectResponseAction{Status: dr.Status}
	if body := dr.Body; body != nil {
		switch {
		case body.String != nil:
			action.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: *body.String}}
		case body.Bytes != nil:
			action.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: body.Bytes}}
		}
	}
	return &routev3.Route_DirectResponse{DirectResponse: action}
}

// applyRewrite rewrites the path before forwarding: uriRegexRewrite is a regex rewrite; uri a prefix
// rewrite, which Envoy applies to what the route matched, so under an exact match it replaces the
// whole path. A rewritten authority replaces the one the header operations asked for.
func applyRewrite(action *routev3.RouteAction, rw *networking.HTTPRewrite, authority *string) {
	if rw == nil {
		return
	}
	switch {
	case rw.URIRegexRewrite != nil:
		action.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{
			Pattern:      &matcherv3.RegexMatcher{Regex: rw.URIRegexRewrite.Match},
			Substitution: rw.URIRegexRewrite.Rewrite,
		}
	case rw.URI != "":
		action.PrefixRewrite = rw.URI
	}
	if rw.Authority != "" {
		*authority = rw.Authority
	}
}

// mirrorPolicies copies a share of the route's requests to other destinations, fire and forget:
// mirror (with mirrorPercentage, or the older mirrorPercent) and then each of mirrors. A share left
// out is 100%; an explicit 0 mirrors nothing.
func (b *builder) mirrorPolicies(vs *model.VirtualService, hr *networking.HTTPRoute, port uint32) []*routev3.RouteAction_RequestMirrorPolicy {
	var out []*routev3.RouteAction_RequestMirrorPolicy
	add := func(d *networking.Destination, share *corev3.RuntimeFractionalPercent) {
		if d == nil || share == nil {
			return
		}
		out = append(out, &routev3.RouteAction_RequestMirrorPolicy{
			Cluster:         b.destinationCluster(vs, d, port),
			RuntimeFraction: share,
			TraceSampled:    wrapperspb.Bool(false),
		})
	}
	switch {
	case hr.MirrorPercentage != nil:
		add(hr.Mirror, percentShare(hr.MirrorPercentage))
	case hr.MirrorPercent != nil:
		add(hr.Mirror, integerShare(*hr.MirrorPercent))
	default:
		add(hr.Mirror, integerShare(100))
	}
	for _, m := range hr.Mirrors {
		if m.Percentage != nil {
			add(m.Destination, percentShare(m.Percentage))
		} else {
			add(m.Destination, integerShare(100))
		}
	}
	return out
}

// percentShare is a fractional percentage in millionths, as Istio writes it; nil for 0.
func percentShare(p *networking.Percent) *corev3.RuntimeFractionalPercent {
	if p.Value <= 0 {
		return nil
	}
	return &corev3.RuntimeFractionalPercent{DefaultValue: fractionOf(p)}
}

func integerShare(n uint32) *corev3.RuntimeFractionalPercent {
	if n == 0 {
		return nil
	}
	return &corev3.RuntimeFractionalPercent{
		DefaultValue: &typev3.FractionalPercent{Numerator: n, Denominator: typev3.FractionalPercent_HUNDRED}}
}

func fractionOf(p *networking.Percent) *typev3.FractionalPercent {
	// Rounded: 0.57 * 10000 is 5699.999… in floating point.
	return &typev3.FractionalPercent{Numerator: uint32(math.Round(p.Value * 10000)), Denominator: typev3.FractionalPercent_MILLION}
}
