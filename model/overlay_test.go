package model

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

type fixedSource struct{ part Part }

func (f fixedSource) Part() Part { return f.part }

// TestWithOverlay: an overlay rule replaces the rule of the same key, an overlay service wins over
// the sources', and the store itself does not change.
func TestWithOverlay(t *testing.T) {
	store := NewStore("cluster.local", time.Now)
	vs := func(name, host string) *VirtualService {
		return &VirtualService{Meta: Meta{Kind: KindVirtualService, Name: name, Namespace: "default"},
			Spec: &networking.VirtualService{Hosts: []string{host}}}
	}
	svc := func(address string) *Service {
		return &Service{Hostname: "reviews.default.svc.cluster.local", Name: "reviews", Namespace: "default", Address: address,
			Ports: []Port{{Name: "http", Port: 9080, Protocol: ProtocolHTTP}}}
	}
	store.Register("files", fixedSource{Part{Services: []*Service{svc("10.0.0.1")}, VirtualServices: []*VirtualService{vs("reviews", "reviews"), vs("other", "other")}}}).Synced()
	before := store.Snapshot()

	got := store.WithOverlay(Part{Services: []*Service{svc("10.0.0.2")}, VirtualServices: []*VirtualService{vs("reviews", "ratings")}})
	if len(got.VirtualServices) != 2 {
		t.Fatalf("%d VirtualServices, want the overlay's reviews and the source's other", len(got.VirtualServices))
	}
	for _, v := range got.VirtualServices {
		if v.Name == "reviews" && v.Spec.Hosts[0] != "ratings" {
			t.Errorf("the overlay did not replace reviews: hosts %v", v.Spec.Hosts)
		}
	}
	if a := got.Service("reviews.default.svc.cluster.local").Address; a != "10.0.0.2" {
		t.Errorf("service address %s, want the overlay's", a)
	}
	if got.Generation != before.Generation || store.Snapshot() != before {
		t.Error("the overlay made a new generation")
	}
	for _, v := range store.Current().VirtualServices {
		if v.Spec.Hosts[0] == "ratings" {
			t.Error("the overlay changed the store's rules")
		}
	}
}
