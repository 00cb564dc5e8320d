package server

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
)

// A view key says which of the snapshot's workload selectors a proxy matches, by position. A change
// to VirtualServices alone may reorder the selectors (a sourceLabels selector now comes first), and
// then the same key names other proxies: the earlier translation found under it is another kind of
// proxy's, and must not be reused. Here app=a and app=b workloads each get their own DestinationRule
// for svc-0 (RANDOM and LEAST_REQUEST); after the edit, the app=b proxy's key is the app=a proxy's
// key of before.
func TestReorderedSelectorsDoNotReuseAnotherViewsTranslation(t *testing.T) {
	store := model.NewStore("cluster.local", time.Now)
	source := memory.New(store, "test")
	part := modeltest.Mesh(1, 1)
	dr := func(name, app, lb string) *model.DestinationRule {
		return &model.DestinationRule{Meta: model.Meta{Kind: model.KindDestinationRule, Name: name, Namespace: "ns-0"},
			Spec: &networking.DestinationRule{Host: "svc-0", WorkloadSelector: &networking.WorkloadSelector{MatchLabels: map[string]string{"app": app}},
				TrafficPolicy: &networking.TrafficPolicy{LoadBalancer: &networking.LoadBalancerSettings{Simple: lb}}}}
	}
	part.DestinationRules = []*model.DestinationRule{dr("for-b", "b", networking.LBLeastRequest), dr("for-a", "a", networking.LBRandom)}
	sourceLabels := func(app string) []*model.VirtualService {
		vs := *part.VirtualServices[0]
		spec := *vs.Spec
		spec.HTTP = append([]*networking.HTTPRoute{{Match: []*networking.HTTPMatchRequest{{SourceLabels: map[string]string{"app": app}}},
			Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc-0", Subset: "v1"}}}}}, spec.HTTP...)
		vs.Spec = &spec
		return []*model.VirtualService{&vs}
	}
	part.VirtualServices = sourceLabels("a") // selectors: app=a (the VirtualService), app=b
	source.Replace(part)

	s := New(store, Options{})
	conns := attach(s,
		proxyOf(t, "sidecar~10.200.0.1~a.ns-0~ns-0.svc.cluster.local", map[string]string{"app": "a"}),
		proxyOf(t, "sidecar~10.200.0.2~b.ns-0~ns-0.svc.cluster.local", map[string]string{"app": "b"}))
	s.push(false)

	source.Update(func(p *model.Part) { p.VirtualServices = sourceLabels("b") }) // selectors: app=b, app=a
	s.push(false)
	for _, d := range differencesFromScratch(s, conns) {
		t.Error(d)
	}
}
