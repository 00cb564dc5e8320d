package server_test

import (
	"testing"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/translate"
)

// scopedMesh is bookinfo in "default", a service in "other", and a Sidecar in "default" that
// imports its own namespace only.
func scopedMesh(importOther bool, otherPort uint32, otherEndpoints ...string) model.Part {
	p := bookinfo()
	other := &model.Service{Hostname: model.ServiceHostname("billing", "other", "cluster.local"), Name: "billing", Namespace: "other",
		Address: "10.96.9.9", Ports: []model.Port{{Name: "http", Port: otherPort, Protocol: model.ProtocolHTTP}}}
	p.Services = append(p.Services, other)
	for _, addr := range otherEndpoints {
		p.Endpoints = append(p.Endpoints, &model.Endpoint{Service: other.Hostname, ServicePort: "http", Address: addr, Port: otherPort, Ready: true})
	}
	hosts := []string{"./*"}
	if importOther {
		hosts = append(hosts, "other/*")
	}
	p.Sidecars = []*model.SidecarResource{{Meta: model.Meta{Kind: model.KindSidecar, Name: "default", Namespace: "default"},
		Spec: &networking.Sidecar{Egress: []*networking.IstioEgressListener{{Hosts: hosts}}}}}
	return p
}

// TestChangeOutsideSidecarScopePushesNothing: a proxy whose Sidecar does not import a namespace is
// sent nothing when a service there changes (its config, its endpoints, a rule for it), and gets it
// once its Sidecar imports it.
func TestChangeOutsideSidecarScopePushesNothing(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := start(t, scopedMesh(false, 8080, "10.3.0.1"))
		f.delta = delta
		c := f.dial(adsc.Options{})
		settle(t, c, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType)
		billing := translate.ClusterName(8080, "", "billing.other.svc.cluster.local")
		if _, ok := c.Resources(resourcev3.ClusterType)[billing]; ok {
			t.Fatalf("%s is out of the Sidecar's scope but was sent", billing)
		}

		f.source.Replace(scopedMesh(false, 8080, "10.3.0.1", "10.3.0.2")) // endpoints out of scope
		quiet(t, c, "after an endpoint change out of scope")
		f.source.Replace(scopedMesh(false, 8181, "10.3.0.1")) // a service out of scope changes its port
		quiet(t, c, "after a service change out of scope")
		p := scopedMesh(false, 8181, "10.3.0.1")
		p.VirtualServices = []*model.VirtualService{{Meta: model.Meta{Kind: model.KindVirtualService, Name: "billing", Namespace: "other"},
			Spec: &networking.VirtualService{Hosts: []string{"billing"}, HTTP: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
				{Destination: &networking.Destination{Host: "billing"}}}}}}}}
		f.source.Replace(p) // a rule for a host out of scope
		quiet(t, c, "after a VirtualService change out of scope")

		f.source.Replace(scopedMesh(true, 8181, "10.3.0.1"))
		collect(t, c, resourcev3.ClusterType, resourcev3.EndpointType)
		waitFor(t, "the billing cluster", func() bool {
			_, ok := c.Resources(resourcev3.ClusterType)[translate.ClusterName(8181, "", "billing.other.svc.cluster.local")]
			return ok
		})
	})
}
