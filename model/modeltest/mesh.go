// Package modeltest builds model inputs for benchmarks and load tests.
package modeltest

import (
	"fmt"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// Mesh builds a mesh of n services with endpointsPer endpoints each (two versions), and for every
// service a DestinationRule with two subsets and a VirtualService with a header match and a 90/10
// split: the routing rules every service of a real mesh would have.
func Mesh(n, endpointsPer int) model.Part {
	var p model.Part
	for i := range n {
		name, ns := fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%10)
		host := model.ServiceHostname(name, ns, "cluster.local")
		p.Services = append(p.Services, &model.Service{Hostname: host, Name: name, Namespace: ns,
			Address: fmt.Sprintf("10.96.%d.%d", i/250, i%250), Resolution: model.ClientSideLB,
			Ports: []model.Port{{Name: "http", Port: 8080, Protocol: model.ProtocolHTTP}}})
		for j := range endpointsPer {
			p.Endpoints = append(p.Endpoints, &model.Endpoint{Service: host, ServicePort: "http",
				Address: fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j), Port: 8080, Ready: true,
				Labels:   map[string]string{"app": name, "version": fmt.Sprintf("v%d", 1+j%2)},
				Locality: model.Locality{Region: "eu", Zone: fmt.Sprintf("eu-%d", j%3)}})
		}
		meta := func(kind model.Kind) model.Meta { return model.Meta{Kind: kind, Name: name, Namespace: ns} }
		p.DestinationRules = append(p.DestinationRules, &model.DestinationRule{Meta: meta(model.KindDestinationRule),
			Spec: &networking.DestinationRule{Host: name, Subsets: []*networking.Subset{
				{Name: "v1", Labels: map[string]string{"version": "v1"}}, {Name: "v2", Labels: map[string]string{"version": "v2"}}},
				TrafficPolicy: &networking.TrafficPolicy{ConnectionPool: &networking.ConnectionPoolSettings{
					HTTP: &networking.HTTPSettings{HTTP2MaxRequests: 1000}}}}})
		jason := "jason"
		p.VirtualServices = append(p.VirtualServices, &model.VirtualService{Meta: meta(model.KindVirtualService),
			Spec: &networking.VirtualService{Hosts: []string{name}, HTTP: []*networking.HTTPRoute{
				{Match: []*networking.HTTPMatchRequest{{Headers: map[string]*networking.StringMatch{"end-user": {Exact: &jason}}}},
					Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: name, Subset: "v2"}}}},
				{Route: []*networking.HTTPRouteDestination{
					{Destination: &networking.Destination{Host: name, Subset: "v1"}, Weight: 90},
					{Destination: &networking.Destination{Host: name, Subset: "v2"}, Weight: 10}},
					Timeout: networking.NewDuration(2 * time.Second)},
			}}})
	}
	return p
}
