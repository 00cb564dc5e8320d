package server

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/minipilot/minipilot/model"
)

// TestNodeLocality: the proxy's locality, which locality load balancing compares endpoints with,
// comes from the xDS node.
func TestNodeLocality(t *testing.T) {
	p, err := proxyFromNode(&corev3.Node{
		Id:       "sidecar~10.1.0.10~app-1.default~default.svc.cluster.local",
		Locality: &corev3.Locality{Region: "eu-west", Zone: "z1", SubZone: "rack1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (model.Locality{Region: "eu-west", Zone: "z1", SubZone: "rack1"}); p.Locality != want {
		t.Errorf("got %+v, want %+v", p.Locality, want)
	}
}
