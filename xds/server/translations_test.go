package server

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestSharedTranslationWithInboundIsComplete: a sidecar's shared outbound translation plus its own
// inbound side is exactly the complete translation, version for version.
func TestSharedTranslationWithInboundIsComplete(t *testing.T) {
	part := modeltest.Mesh(20, 2)
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	cache := newTranslationCache(snap, newWarningLog(zap.NewNop(), nil), nil, model.Change{})
	for _, ip := range []string{part.Endpoints[0].Address, "10.200.0.9"} { // one with an inbound side, one without
		proxy, err := model.ParseNodeID("sidecar~" + ip + "~w.ns-0~ns-0.svc.cluster.local")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cache.get(proxy, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := desiredSets(translate.ForProxy(snap, proxy, nil), snap.ChangedAt)
		for typ := range numTypes {
			if got.sets[typ].version != want[typ].version {
				t.Errorf("%s %s: shared+inbound version %s, complete %s", ip, typeShort[typ], got.sets[typ].version, want[typ].version)
			}
		}
	}
	if len(cache.entries) != 1 {
		t.Errorf("both sidecars are of one kind: want 1 shared translation, got %d", len(cache.entries))
	}
}
