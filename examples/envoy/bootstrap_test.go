// Package envoy_test checks bootstrap.yaml the way Envoy would read it, without Envoy: the YAML is
// decoded into the Bootstrap proto and checked against the proto's own validation rules.
package envoy_test

import (
	"fmt"
	"os"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	// The typed_extension_protocol_options Any names this type; importing the package registers it,
	// without which protojson cannot resolve the Any and refuses the whole file.
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/model"
)

const httpOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

func load(t *testing.T) *bootstrapv3.Bootstrap {
	t.Helper()
	return loadFile(t, "bootstrap.yaml")
}

func loadFile(t *testing.T, name string) *bootstrapv3.Bootstrap {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("bootstrap.yaml is not valid YAML: %v", err)
	}
	var b bootstrapv3.Bootstrap
	// Envoy refuses unknown fields too, so DiscardUnknown stays false.
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("bootstrap.yaml is not an Envoy v3 Bootstrap: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("bootstrap.yaml breaks Envoy's validation rules: %v", err)
	}
	return &b
}

// bootstrap-delta.yaml is bootstrap.yaml speaking Delta xDS, and nothing else.
func TestDeltaBootstrap(t *testing.T) {
	delta := loadFile(t, "bootstrap-delta.yaml")
	ads := delta.GetDynamicResources().GetAdsConfig()
	if ads.GetApiType() != corev3.ApiConfigSource_DELTA_GRPC {
		t.Fatalf("bootstrap-delta.yaml: api_type %v, want DELTA_GRPC", ads.GetApiType())
	}
	ads.ApiType = corev3.ApiConfigSource_GRPC
	if !proto.Equal(delta, load(t)) {
		t.Error("bootstrap-delta.yaml differs from bootstrap.yaml in more than api_type")
	}
}

func TestNode(t *testing.T) {
	b := load(t)
	proxy, err := model.ParseNodeID(b.GetNode().GetId())
	if err != nil {
		t.Fatalf("node ID is not in Istio's format: %v", err)
	}
	if proxy.Type != model.Sidecar || proxy.IPAddress != "127.0.0.1" || proxy.Workload != "productpage-v1.default" || proxy.Namespace != "default" {
		t.Errorf("node ID %q: got %+v, want a sidecar for productpage-v1 in default at 127.0.0.1", b.GetNode().GetId(), proxy)
	}
	if got := b.GetNode().GetCluster(); got != "default" {
		t.Errorf("node cluster: got %q, want default", got)
	}
	meta := b.GetNode().GetMetadata().GetFields()
	if got := meta["INTERCEPTION_MODE"].GetStringValue(); got != model.InterceptionNone {
		t.Errorf("INTERCEPTION_MODE: got %q, want NONE (no iptables, listeners bind their ports)", got)
	}
	labels := meta["LABELS"].GetStructValue().GetFields()
	if labels["app"].GetStringValue() != "productpage" || labels["version"].GetStringValue() != "v1" {
		t.Errorf("LABELS: got %v, want app: productpage, version: v1", meta["LABELS"])
	}
}

func TestADS(t *testing.T) {
	dr := load(t).GetDynamicResources()
	ads := dr.GetAdsConfig()
	if ads.GetApiType() != corev3.ApiConfigSource_GRPC || ads.GetTransportApiVersion() != corev3.ApiVersion_V3 {
		t.Errorf("ads_config: got api_type %v, transport %v; want GRPC, V3", ads.GetApiType(), ads.GetTransportApiVersion())
	}
	if !ads.GetSetNodeOnFirstMessageOnly() {
		t.Error("ads_config.set_node_on_first_message_only should be true")
	}
	if gs := ads.GetGrpcServices(); len(gs) != 1 || gs[0].GetEnvoyGrpc().GetClusterName() != "xds-grpc" {
		t.Errorf("ads_config.grpc_services: got %v, want envoy_grpc cluster xds-grpc", gs)
	}
	for name, src := range map[string]*corev3.ConfigSource{"cds_config": dr.GetCdsConfig(), "lds_config": dr.GetLdsConfig()} {
		if src.GetAds() == nil || src.GetResourceApiVersion() != corev3.ApiVersion_V3 {
			t.Errorf("%s: got %v, want {ads: {}, resource_api_version: V3}", name, src)
		}
	}
}

func TestXDSCluster(t *testing.T) {
	b := load(t)
	var xds *clusterv3.Cluster
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == "xds-grpc" {
			xds = c
		}
	}
	if xds == nil {
		t.Fatal("no static cluster xds-grpc")
	}
	if xds.GetType() != clusterv3.Cluster_STATIC {
		t.Errorf("xds-grpc: type %v, want STATIC", xds.GetType())
	}
	var targets []string
	for _, lle := range xds.GetLoadAssignment().GetEndpoints() {
		for _, e := range lle.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			targets = append(targets, fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()))
		}
	}
	if len(targets) != 1 || targets[0] != "127.0.0.1:15010" {
		t.Errorf("xds-grpc endpoints: got %v, want [127.0.0.1:15010] (pilot-discovery's --grpc-addr)", targets)
	}
	var opts httpv3.HttpProtocolOptions
	raw := xds.GetTypedExtensionProtocolOptions()[httpOptionsKey]
	if raw == nil {
		t.Fatalf("xds-grpc has no %s: gRPC needs HTTP/2", httpOptionsKey)
	}
	if err := raw.UnmarshalTo(&opts); err != nil {
		t.Fatalf("%s: %v", httpOptionsKey, err)
	}
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		t.Errorf("xds-grpc: got %v, want explicit_http_config with http2_protocol_options", &opts)
	}
}

func TestAdmin(t *testing.T) {
	sa := load(t).GetAdmin().GetAddress().GetSocketAddress()
	if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != 15000 {
		t.Errorf("admin: got %s:%d, want 127.0.0.1:15000", sa.GetAddress(), sa.GetPortValue())
	}
}
