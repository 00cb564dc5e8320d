package validation_test

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
)

// useInModel puts an accepted config into a snapshot beside a few services and asks the snapshot
// everything the translator asks of it, so that whatever the validator lets through is converted.
func useInModel(t testing.TB, cfg model.Config) {
	t.Helper()
	var part model.Part
	for _, name := range []string{"r", "reviews", "a"} {
		part.Services = append(part.Services, &model.Service{
			Hostname: model.ServiceHostname(name, "default", "cluster.local"), Name: name, Namespace: "default",
			Address: "10.0.0.1", Ports: []model.Port{{Name: "http", Port: 80, Protocol: model.ProtocolHTTP}},
		})
		part.Endpoints = append(part.Endpoints, &model.Endpoint{Service: model.ServiceHostname(name, "default", "cluster.local"),
			ServicePort: "http", Address: "10.1.0.1", Port: 8080, Ready: true, Labels: map[string]string{"app": name}})
	}
	part.Add(cfg)
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	for _, svc := range snap.Services {
		snap.VirtualServicesFor(svc.Hostname)
		snap.DestinationRuleFor("default", svc)
		snap.DestinationRuleForWorkload("default", map[string]string{"app": "x"}, svc)
		for _, p := range svc.Ports {
			snap.Endpoints(svc.Hostname, p)
		}
	}
	snap.DestinationRuleMerges()
	if se, ok := cfg.(*model.ServiceEntry); ok {
		model.ServiceEntryServices(se, "cluster.local")
	}
}
