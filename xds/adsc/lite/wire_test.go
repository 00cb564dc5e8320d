package lite

import (
	"errors"
	"slices"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestFieldNumbers checks the hand-written field numbers against the generated descriptors.
func TestFieldNumbers(t *testing.T) {
	cases := []struct {
		msg   proto.Message
		field protoreflect.Name
		want  protowire.Number
	}{
		{&discoveryv3.DiscoveryRequest{}, "version_info", reqVersionInfo},
		{&discoveryv3.DiscoveryRequest{}, "node", reqNode},
		{&discoveryv3.DiscoveryRequest{}, "resource_names", reqResourceNames},
		{&discoveryv3.DiscoveryRequest{}, "type_url", reqTypeURL},
		{&discoveryv3.DiscoveryRequest{}, "response_nonce", reqResponseNonce},
		{&discoveryv3.DiscoveryRequest{}, "error_detail", reqErrorDetail},
		{&discoveryv3.DiscoveryResponse{}, "version_info", respVersionInfo},
		{&discoveryv3.DiscoveryResponse{}, "resources", respResources},
		{&discoveryv3.DiscoveryResponse{}, "type_url", respTypeURL},
		{&discoveryv3.DiscoveryResponse{}, "nonce", respNonce},
		{&anypb.Any{}, "type_url", anyTypeURL},
		{&anypb.Any{}, "value", anyValue},
		{&clusterv3.Cluster{}, "name", resourceName},
		{&endpointv3.ClusterLoadAssignment{}, "cluster_name", resourceName},
		{&listenerv3.Listener{}, "name", resourceName},
		{&routev3.RouteConfiguration{}, "name", resourceName},
		{&clusterv3.Cluster{}, "type", clusterType},
		{&clusterv3.Cluster{}, "eds_cluster_config", clusterEdsClusterConfig},
		{&clusterv3.Cluster_EdsClusterConfig{}, "service_name", edsServiceName},
		{&listenerv3.Listener{}, "filter_chains", listenerFilterChains},
		{&listenerv3.Listener{}, "default_filter_chain", listenerDefaultFilterChain},
		{&listenerv3.FilterChain{}, "filters", filterChainFilters},
		{&listenerv3.Filter{}, "typed_config", filterTypedConfig},
		{&hcmv3.HttpConnectionManager{}, "rds", hcmRds},
		{&hcmv3.Rds{}, "route_config_name", rdsRouteConfigName},
		{&statuspb.Status{}, "code", 1},
		{&statuspb.Status{}, "message", 2},
	}
	for _, c := range cases {
		d := c.msg.ProtoReflect().Descriptor()
		f := d.Fields().ByName(c.field)
		if f == nil || f.Number() != c.want {
			t.Errorf("%s.%s: want field %d, descriptor says %v", d.FullName(), c.field, c.want, f)
		}
	}
	if got := protowire.Number(clusterv3.Cluster_EDS); got != clusterTypeEDS {
		t.Errorf("Cluster.EDS is %d, not %d", got, clusterTypeEDS)
	}
	if got := string((&hcmv3.HttpConnectionManager{}).ProtoReflect().Descriptor().FullName()); "type.googleapis.com/"+got != hcmTypeURL {
		t.Errorf("HCM type URL %q", got)
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResponseAndNames(t *testing.T) {
	eds := func(name, service string) *clusterv3.Cluster {
		c := &clusterv3.Cluster{Name: name, ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{ServiceName: service, EdsConfig: &corev3.ConfigSource{}}}
		return c
	}
	static := &clusterv3.Cluster{Name: "static", ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}}
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: "v1", Nonce: "7", TypeUrl: typeURLs[cds], Resources: []*anypb.Any{
		mustAny(t, eds("outbound|80||b", "")), mustAny(t, static), mustAny(t, eds("outbound|80||a", "a-service"))}}
	wr, err := parseResponse(marshal(t, resp), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(wr.version) != "v1" || string(wr.nonce) != "7" || string(wr.typeURL) != typeURLs[cds] || len(wr.resources) != 3 {
		t.Fatalf("parsed %q %q %q with %d resources", wr.version, wr.nonce, wr.typeURL, len(wr.resources))
	}
	var names []string
	for _, r := range wr.resources {
		names = append(names, string(r.Name))
		got := &clusterv3.Cluster{}
		if err := proto.Unmarshal(r.Body, got); err != nil || got.GetName() != string(r.Name) {
			t.Errorf("body of %s does not decode to it: %v", r.Name, err)
		}
	}
	if !slices.Equal(names, []string{"outbound|80||b", "static", "outbound|80||a"}) {
		t.Errorf("names %q", names)
	}
	set, err := NewNameCache().derive(typeURLs[cds], wr.resources, edsServiceNames)
	if err != nil || !slices.Equal(set.names, []string{"a-service", "outbound|80||b"}) {
		t.Errorf("EDS names %v (%v), want the service name where there is one and the cluster name otherwise", set, err)
	}

	hcm := func(route string) *listenerv3.Filter {
		return &listenerv3.Filter{Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{
			TypedConfig: mustAny(t, &hcmv3.HttpConnectionManager{RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: route}}})}}
	}
	l := &listenerv3.Listener{Name: "0.0.0.0_8080",
		FilterChains:       []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{hcm("8080")}}, {Filters: []*listenerv3.Filter{hcm("9080")}}},
		DefaultFilterChain: &listenerv3.FilterChain{Filters: []*listenerv3.Filter{hcm("8080")}}}
	routes, err := routeConfigNames(nil, marshal(t, l))
	if err != nil || !slices.Equal(routes, []string{"8080", "9080", "8080"}) {
		t.Errorf("route names %q (%v)", routes, err)
	}
	if _, err := parseResponse([]byte{0x12, 0x05, 0x0a}, nil); err == nil {
		t.Error("a truncated response must not parse")
	}
}

func TestRequestEncoding(t *testing.T) {
	node := &corev3.Node{Id: "sidecar~1.2.3.4~a.b~b.svc.cluster.local", Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
		"NAMESPACE": structpb.NewStringValue("b")}}}
	req := request{node: marshal(t, node), version: "v2", typeURL: typeURLs[eds], nonce: "9",
		names: encodeNames([]string{"x", "y"}), nack: errors.New("no")}
	got := &discoveryv3.DiscoveryRequest{}
	m := req.encode()
	if err := proto.Unmarshal(append(m.head, m.names...), got); err != nil {
		t.Fatal(err)
	}
	want := &discoveryv3.DiscoveryRequest{Node: node, VersionInfo: "v2", TypeUrl: typeURLs[eds], ResponseNonce: "9",
		ResourceNames: []string{"x", "y"}, ErrorDetail: &statuspb.Status{Code: 3, Message: "no"}}
	if !proto.Equal(got, want) {
		t.Errorf("encoded\n%v\nwant\n%v", got, want)
	}
}
