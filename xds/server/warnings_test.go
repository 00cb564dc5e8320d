package server_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
	"github.com/minipilot/minipilot/xds/translate"
)

// A rule's mistake is reported once, naming the rule, however many proxies and pushes it reaches;
// it is listed while it lasts and no longer once fixed.
func TestTranslationWarningsAreReportedOncePerRule(t *testing.T) {
	part := bookinfo()
	part.VirtualServices = []*model.VirtualService{{
		Meta: model.Meta{Kind: model.KindVirtualService, Name: "reviews", Namespace: "default", Source: "kube/east"},
		Spec: &networking.VirtualService{Hosts: []string{"reviews"}, HTTP: []*networking.HTTPRoute{{
			Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "nowhere"}}},
		}}},
	}}
	var mu sync.Mutex
	var reported []translate.Warning
	f := startWith(t, part, server.Options{StageTimeout: time.Minute, Report: func(w translate.Warning) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, w)
	}})
	for _, pod := range []string{"productpage-v1", "details-v1", "ratings-v1"} {
		c := f.dial(adsc.Options{NodeID: "sidecar~10.1.0.9~" + pod + ".default~default.svc.cluster.local"})
		settle(t, c, resourcev3.ClusterType)
	}
	f.source.Update(func(p *model.Part) { p.Endpoints = append(p.Endpoints, endpoint("reviews", "10.1.0.25", nil)) })
	waitFor(t, "the push", func() bool { return f.srv.SyncStatus()[0].Generation > 1 })

	mu.Lock()
	got := ofRules(reported)
	mu.Unlock()
	if len(got) != 1 || got[0].Object.Key() != "VirtualService/default/reviews" || !strings.Contains(got[0].Message, "nowhere") {
		t.Fatalf("reported %+v, want one warning about VirtualService default/reviews and host nowhere", got)
	}
	if list := ofRules(f.srv.TranslationWarnings()); len(list) != 1 || list[0].Object.Key() != "VirtualService/default/reviews" {
		t.Fatalf("listed %+v", list)
	}

	f.source.Update(func(p *model.Part) { p.VirtualServices = nil })
	waitFor(t, "the fixed rule's warning to go", func() bool { return len(ofRules(f.srv.TranslationWarnings())) == 0 })
}

// ofRules keeps the warnings about VirtualServices (the fixture's services share an address, which
// gets warnings of its own).
func ofRules(ws []translate.Warning) []translate.Warning {
	var out []translate.Warning
	for _, w := range ws {
		if w.Object.Kind == model.KindVirtualService {
			out = append(out, w)
		}
	}
	return out
}
