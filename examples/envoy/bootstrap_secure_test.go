package envoy_test

import (
	"os"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	credinjectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"
)

// bootstrap-secure.yaml sends Envoy's xDS through its own loopback listener, which adds the
// projected token as a bearer header, to minipilot's secure port over verified TLS.
func TestSecureBootstrap(t *testing.T) {
	b := loadFile(t, "bootstrap-secure.yaml")
	if gs := b.GetDynamicResources().GetAdsConfig().GetGrpcServices(); len(gs) != 1 || gs[0].GetEnvoyGrpc().GetClusterName() != "xds-token" {
		t.Fatalf("ADS goes to %v, want the token-adding listener's cluster xds-token", gs)
	}
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
	}
	local := clusters["xds-token"].GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 || listeners[0].GetAddress().GetSocketAddress().GetPortValue() != local.GetPortValue() ||
		listeners[0].GetAddress().GetSocketAddress().GetAddress() != "127.0.0.1" {
		t.Fatalf("cluster xds-token points at %v, which is not the loopback listener", local)
	}

	hcm := &hcmv3.HttpConnectionManager{}
	if err := listeners[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	if hcm.GetCodecType() != hcmv3.HttpConnectionManager_HTTP2 || hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetCluster() != "xds-grpc" {
		t.Fatalf("the listener does not pass HTTP/2 on to xds-grpc: %v", hcm)
	}
	injector := &credinjectorv3.CredentialInjector{}
	if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(injector); err != nil {
		t.Fatalf("the first HTTP filter is not the credential injector: %v", err)
	}
	generic := &genericv3.Generic{}
	if err := injector.GetCredential().GetTypedConfig().UnmarshalTo(generic); err != nil {
		t.Fatal(err)
	}
	sds := generic.GetCredential().GetSdsConfig().GetPathConfigSource()
	if generic.GetHeader() != "authorization" || generic.GetHeaderValuePrefix() != "Bearer " || sds.GetPath() != "/etc/envoy/token-sds.yaml" ||
		sds.GetWatchedDirectory().GetPath() != "/var/run/secrets/tokens" {
		t.Fatalf("the injector does not add 'authorization: Bearer <token>' from the rotated token: %v", generic)
	}

	// The SDS file names the projected token.
	data, err := os.ReadFile("token-sds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var resp discoveryv3.DiscoveryResponse
	if err := protojson.Unmarshal(js, &resp); err != nil {
		t.Fatalf("token-sds.yaml: %v", err)
	}
	secret := &tlsv3.Secret{}
	if err := resp.GetResources()[0].UnmarshalTo(secret); err != nil {
		t.Fatal(err)
	}
	if err := secret.ValidateAll(); err != nil || secret.GetName() != generic.GetCredential().GetName() ||
		secret.GetGenericSecret().GetSecret().GetFilename() != "/var/run/secrets/tokens/istio-token" {
		t.Fatalf("token-sds.yaml: %v (%v)", secret, err)
	}

	// ValidateAll does not look into Anys: check what they hold as Envoy would.
	for _, m := range []interface{ ValidateAll() error }{hcm, injector, generic} {
		if err := m.ValidateAll(); err != nil {
			t.Errorf("%T: %v", m, err)
		}
	}

	xds := clusters["xds-grpc"]
	upstream := &tlsv3.UpstreamTlsContext{}
	if err := xds.GetTransportSocket().GetTypedConfig().UnmarshalTo(upstream); err != nil {
		t.Fatalf("xds-grpc is not TLS: %v", err)
	}
	addr := xds.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	vc := upstream.GetCommonTlsContext().GetValidationContext()
	if addr.GetPortValue() != 15012 || vc.GetTrustedCa().GetFilename() != "/var/run/secrets/istio/root-cert.pem" ||
		len(vc.GetMatchTypedSubjectAltNames()) == 0 || upstream.GetSni() != addr.GetAddress() {
		t.Fatalf("xds-grpc: %s:%d, TLS %v; want the secure port, verified against the published root", addr.GetAddress(), addr.GetPortValue(), upstream)
	}
	if err := upstream.ValidateAll(); err != nil {
		t.Error(err)
	}
}
