package server

import (
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// TestNodeClient: the client's implementation, version and features, by which a gRPC client gets the
// forms of config it accepts, come from the xDS node as gRPC's C core and Envoy send them.
func TestNodeClient(t *testing.T) {
	const id = "sidecar~10.1.0.10~app-1.default~default.svc.cluster.local"
	core, err := proxyFromNode(&corev3.Node{
		Id: id, UserAgentName: "gRPC C-core linux Python",
		UserAgentVersionType: &corev3.Node_UserAgentVersion{UserAgentVersion: "C-core 29.0.0 Python 1.51.1"},
		ClientFeatures:       []string{"envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !core.Proxyless || core.ClientName != "gRPC C-core linux Python" || core.ClientVersion != "C-core 29.0.0 Python 1.51.1" ||
		!slices.Equal(core.ClientFeatures, []string{"envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"}) {
		t.Errorf("C core node: got %+v", core)
	}
	envoy, err := proxyFromNode(&corev3.Node{
		Id: id, UserAgentName: "envoy",
		UserAgentVersionType: &corev3.Node_UserAgentBuildVersion{UserAgentBuildVersion: &corev3.BuildVersion{
			Version: &typev3.SemanticVersion{MajorNumber: 1, MinorNumber: 36, Patch: 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if envoy.Proxyless || envoy.ClientName != "envoy" || envoy.ClientVersion != "1.36.2" {
		t.Errorf("Envoy node: got %+v", envoy)
	}
}
