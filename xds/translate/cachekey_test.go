package translate_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestOutboundIsSharedByKey: two sidecars that differ only in what CacheKey leaves out (their IP and
// pod name) get the same Outbound, and the same key; so the server may translate once for both.
// Inbound, which reads the IP, is what tells them apart.
func TestOutboundIsSharedByKey(t *testing.T) {
	part := modeltest.Mesh(20, 2)
	self := part.Endpoints[0] // the first sidecar is an endpoint of svc-0: it has an inbound side
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	a, _ := model.ParseNodeID("sidecar~" + self.Address + "~svc-0-a.ns-0~ns-0.svc.cluster.local")
	b, _ := model.ParseNodeID("sidecar~10.200.0.2~svc-0-b.ns-0~ns-0.svc.cluster.local")
	if translate.CacheKey(a, nil) != translate.CacheKey(b, nil) {
		t.Fatal("sidecars differing only in IP and name must share a key")
	}
	oa, ob := translate.Outbound(snap, a, nil), translate.Outbound(snap, b, nil)
	if len(oa.Clusters) != len(ob.Clusters) || len(oa.Listeners) != len(ob.Listeners) {
		t.Fatal("Outbound differs between sidecars of one key")
	}
	for i := range oa.Clusters {
		if !proto.Equal(oa.Clusters[i], ob.Clusters[i]) {
			t.Fatalf("cluster %s differs", oa.Clusters[i].Name)
		}
	}
	for i := range oa.Listeners {
		if !proto.Equal(oa.Listeners[i], ob.Listeners[i]) {
			t.Fatalf("listener %s differs", oa.Listeners[i].Name)
		}
	}
	if ia, ib := translate.Inbound(snap, a), translate.Inbound(snap, b); len(ia.Clusters) <= len(ib.Clusters) {
		t.Fatalf("only the sidecar that is an endpoint has inbound|<port>|| clusters: %d and %d", len(ia.Clusters), len(ib.Clusters))
	}
	c := *a
	c.Namespace = "ns-1"
	if translate.CacheKey(a, nil) == translate.CacheKey(&c, nil) {
		t.Fatal("the namespace changes what a sidecar sees; it must be in the key")
	}
}
