package translate

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
)

// After each change to VirtualServices alone, the route configs made with the kept virtual hosts
// of the step before are, byte for byte, what a translation from scratch marshals, with the same
// warnings; and only the virtual hosts the change reached were translated again.
func TestKeptRoutesEqualFromScratch(t *testing.T) {
	part := modeltest.Mesh(30, 2)
	proxy := &model.Proxy{ID: "sidecar~10.1.0.1~a.ns-0~ns-0.svc.cluster.local", Type: model.Sidecar, Namespace: "ns-0", IPAddress: "10.1.0.1"}
	vsFor := func(name string) int {
		return slices.IndexFunc(part.VirtualServices, func(vs *model.VirtualService) bool { return vs.Name == name })
	}
	withVS := func(i int, edit func(spec *networking.VirtualService)) {
		vs := *part.VirtualServices[i]
		spec := *vs.Spec
		edit(&spec)
		vs.Spec = &spec
		part.VirtualServices = slices.Clone(part.VirtualServices)
		part.VirtualServices[i] = &vs
	}
	steps := []struct {
		name       string
		change     func()
		translated int // virtual hosts translated again
	}{
		{"weights of svc-0", func() {
			withVS(vsFor("svc-0"), func(s *networking.VirtualService) {
				s.HTTP = []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc-0", Subset: "v2"}}}}}
			})
		}, 1},
		{"svc-1's VirtualService removed", func() {
			i := vsFor("svc-1")
			part.VirtualServices = append(slices.Clone(part.VirtualServices[:i]), part.VirtualServices[i+1:]...)
		}, 1},
		{"a VirtualService for svc-1 again, delegating", func() {
			part.VirtualServices = append(slices.Clone(part.VirtualServices),
				&model.VirtualService{Meta: model.Meta{Kind: model.KindVirtualService, Name: "svc-1", Namespace: "ns-1"},
					Spec: &networking.VirtualService{Hosts: []string{"svc-1"}, HTTP: []*networking.HTTPRoute{{Delegate: &networking.Delegate{Name: "child", Namespace: "ns-1"}}}}})
		}, 1},
		{"the delegate appears", func() {
			part.VirtualServices = append(slices.Clone(part.VirtualServices),
				&model.VirtualService{Meta: model.Meta{Kind: model.KindVirtualService, Name: "child", Namespace: "ns-1"},
					Spec: &networking.VirtualService{HTTP: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc-1.ns-1.svc.cluster.local", Subset: "v1"}}}}}}})
		}, 1},
		{"a subset no DestinationRule defines (a warning)", func() {
			withVS(vsFor("svc-2"), func(s *networking.VirtualService) {
				s.HTTP = []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc-2", Subset: "nowhere"}}}}}
			})
		}, 1},
		{"a wildcard over ns-3", func() {
			part.VirtualServices = append(slices.Clone(part.VirtualServices),
				&model.VirtualService{Meta: model.Meta{Kind: model.KindVirtualService, Name: "all-of-ns-3", Namespace: "ns-3"},
					Spec: &networking.VirtualService{Hosts: []string{"*.ns-3.svc.cluster.local"}, HTTP: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc-3.ns-3.svc.cluster.local"}}}}}}})
		}, 3},
		{"nothing", func() {}, 0},
	}

	var kept *KeptRoutes
	for gen, step := range append([]struct {
		name       string
		change     func()
		translated int
	}{{"first translation", func() {}, 30}}, steps...) {
		step.change()
		snap := model.NewSnapshot("cluster.local", uint64(gen+1), time.Time{}, part)
		got, next := SidecarListenersKeeping(snap, proxy, kept)
		want := SidecarListeners(snap, proxy)
		if len(got.EncodedRoutes) != len(want.Routes) {
			t.Fatalf("%s: %d route configs encoded, %d from scratch", step.name, len(got.EncodedRoutes), len(want.Routes))
		}
		for i, rc := range want.Routes {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(rc)
			if err != nil {
				t.Fatal(err)
			}
			if enc := got.EncodedRoutes[i]; enc.Name != rc.Name || !bytes.Equal(enc.Value, b) || !slices.Equal(enc.Clusters, RouteClusters(rc)) {
				t.Fatalf("%s: route config %s differs from the one from scratch (clusters %v, want %v)", step.name, rc.Name, enc.Clusters, RouteClusters(rc))
			}
		}
		if !slices.Equal(got.Warnings, want.Warnings) {
			t.Errorf("%s: warnings\n%q\nfrom scratch\n%q", step.name, got.Warnings, want.Warnings)
		}
		if step.name == "a subset no DestinationRule defines (a warning)" && len(want.Warnings) == 0 {
			t.Errorf("%s: no warning from scratch", step.name)
		}
		if next.Translated != step.translated {
			t.Errorf("%s: %d virtual hosts translated, want %d (%d kept)", step.name, next.Translated, step.translated, next.Kept)
		}
		kept = next
	}
}

// A route config whose finishing changed what was built (here two services share an address, so
// one virtual host loses that domain, with a warning) keeps nothing: the next translation makes it
// whole again, as from scratch.
func TestRouteConfigsFinishingChangedAreNotKept(t *testing.T) {
	part := modeltest.Mesh(5, 1)
	twin := *part.Services[1]
	twin.Name, twin.Hostname = "twin", model.ServiceHostname("twin", twin.Namespace, "cluster.local")
	twin.Address = part.Services[0].Address
	part.Services = append(part.Services, &twin)
	proxy := &model.Proxy{ID: "sidecar~10.1.0.1~a.ns-0~ns-0.svc.cluster.local", Type: model.Sidecar, Namespace: "ns-0", IPAddress: "10.1.0.1"}

	_, kept := SidecarListenersKeeping(model.NewSnapshot("cluster.local", 1, time.Time{}, part), proxy, nil)
	vs := *part.VirtualServices[2]
	spec := *vs.Spec
	spec.HTTP = spec.HTTP[1:]
	vs.Spec = &spec
	part.VirtualServices = append(slices.Clone(part.VirtualServices[:2]), append([]*model.VirtualService{&vs}, part.VirtualServices[3:]...)...)
	snap := model.NewSnapshot("cluster.local", 2, time.Time{}, part)
	got, next := SidecarListenersKeeping(snap, proxy, kept)
	if next.Kept != 0 {
		t.Errorf("%d virtual hosts kept from a route config finishing changed", next.Kept)
	}
	want := SidecarListeners(snap, proxy)
	for i, rc := range want.Routes {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(rc)
		if !bytes.Equal(got.EncodedRoutes[i].Value, b) {
			t.Errorf("route config %s differs from the one from scratch", rc.Name)
		}
	}
	if !slices.Equal(got.Warnings, want.Warnings) || len(want.Warnings) == 0 {
		t.Errorf("warnings %q, from scratch %q (which should say a domain was left out)", got.Warnings, want.Warnings)
	}
}
