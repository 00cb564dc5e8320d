package server

import (
	"fmt"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/minipilot/minipilot/model"
)

// proxyFromNode reads what the translator needs from an xDS node: the Istio node ID, its locality, the
// metadata Istio's bootstraps carry (GENERATOR, LABELS, INTERCEPTION_MODE), and the client's user
// agent and features, by which gRPC clients get config in the form their implementation accepts. A
// gRPC client is recognised by GENERATOR "grpc" or by the user agent gRPC's xDS client sends.
func proxyFromNode(node *corev3.Node) (*model.Proxy, error) {
	if node == nil || node.GetId() == "" {
		return nil, fmt.Errorf("the first request of a stream must carry a node with an ID")
	}
	proxy, err := model.ParseNodeID(node.GetId())
	if err != nil {
		return nil, err
	}
	meta := node.GetMetadata().GetFields()
	proxy.Proxyless = meta["GENERATOR"].GetStringValue() == "grpc" ||
		strings.HasPrefix(strings.ToLower(node.GetUserAgentName()), "grpc")
	if labels := meta["LABELS"].GetStructValue(); labels != nil {
		proxy.Labels = map[string]string{}
		for k, v := range labels.GetFields() {
			proxy.Labels[k] = v.GetStringValue()
		}
	}
	proxy.ClientName, proxy.ClientVersion = node.GetUserAgentName(), userAgentVersion(node)
	proxy.ClientFeatures = node.GetClientFeatures()
	if l := node.GetLocality(); l != nil {
		proxy.Locality = model.Locality{Region: l.GetRegion(), Zone: l.GetZone(), SubZone: l.GetSubZone()}
	}
	proxy.IstioVersion, proxy.ClusterID = meta["ISTIO_VERSION"].GetStringValue(), meta["CLUSTER_ID"].GetStringValue()
	if ns := meta["NAMESPACE"].GetStringValue(); ns != "" {
		proxy.Namespace = ns
	}
	switch mode := strings.ToUpper(meta["INTERCEPTION_MODE"].GetStringValue()); mode {
	case "", model.InterceptionRedirect, "TPROXY":
		proxy.InterceptionMode = model.InterceptionRedirect
	case model.InterceptionNone:
		proxy.InterceptionMode = model.InterceptionNone
	default:
		return nil, fmt.Errorf("node %q: metadata INTERCEPTION_MODE %q is not REDIRECT, TPROXY or NONE", node.GetId(), mode)
	}
	return proxy, nil
}

// userAgentVersion is the client's version as a string: user_agent_version (what gRPC sends), or
// Envoy's structured user_agent_build_version.
func userAgentVersion(node *corev3.Node) string {
	if v := node.GetUserAgentVersion(); v != "" {
		return v
	}
	if v := node.GetUserAgentBuildVersion().GetVersion(); v != nil {
		return fmt.Sprintf("%d.%d.%d", v.GetMajorNumber(), v.GetMinorNumber(), v.GetPatch())
	}
	return ""
}
