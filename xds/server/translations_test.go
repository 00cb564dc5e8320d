package server

import (
	"runtime"
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
	cache := newTranslationCache(snap, newWarningLog(zap.NewNop(), nil), NewMetrics(nil), nil, model.Change{})
	for _, ip := range []string{part.Endpoints[0].Address, "10.200.0.9"} { // one with an inbound side, one without
		proxy, err := model.ParseNodeID("sidecar~" + ip + "~w.ns-0~ns-0.svc.cluster.local")
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := cache.get(proxy, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := desiredSets(translate.ForProxy(snap, proxy, nil), snap.ChangedAt, nil)
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

// Views are translated as many at a time as there are turns: the first sidecar of each of many
// views connecting at once no longer has every view's resources alive together.
func TestViewsAreTranslatedATurnAtATime(t *testing.T) {
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, modeltest.Mesh(20, 2))
	cache := newTranslationCache(snap, newWarningLog(zap.NewNop(), nil), NewMetrics(nil), nil, model.Change{})
	cache.translating = make(chan struct{}, 1)
	cache.translating <- struct{}{} // the only turn is taken
	proxy, err := model.ParseNodeID("sidecar~10.200.0.9~w.ns-1~ns-1.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := cache.get(proxy, nil, nil); done <- err }()
	for range 1000 { // let it run as far as it can
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("a view was translated without a turn")
	default:
	}
	<-cache.translating // the turn is given back
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(cache.translating) != 0 {
		t.Fatal("the translation kept its turn")
	}
}
