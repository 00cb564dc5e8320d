package model

import (
	"testing"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

// TestMeshDefaultExportTo: objects that set no exportTo take the mesh's default of their kind;
// those that set one keep it.
func TestMeshDefaultExportTo(t *testing.T) {
	mesh := DefaultMeshConfig()
	mesh.DefaultServiceExportTo = []string{"."}
	mesh.DefaultDestinationRuleExportTo = []string{"."}
	private := &Service{Hostname: "a.ns.svc.cluster.local", Name: "a", Namespace: "ns"}
	public := &Service{Hostname: "b.ns.svc.cluster.local", Name: "b", Namespace: "ns", ExportTo: []string{"*"}}
	dr := &DestinationRule{Meta: Meta{Kind: KindDestinationRule, Name: "a", Namespace: "ns"}, Spec: &networking.DestinationRule{Host: "a"}}
	snap := NewSnapshot("cluster.local", 1, time.Time{}, Part{Mesh: mesh, Services: []*Service{private, public}, DestinationRules: []*DestinationRule{dr}})
	if snap.ServiceVisibleTo(private, "other") || !snap.ServiceVisibleTo(private, "ns") || !snap.ServiceVisibleTo(public, "other") {
		t.Errorf("defaultServiceExportTo [.] must hide services without exportTo from other namespaces, and only those")
	}
	if snap.DestinationRuleFor("other", private) != nil || snap.DestinationRuleFor("ns", private) != dr {
		t.Errorf("defaultDestinationRuleExportTo [.] must keep the rule in its namespace")
	}
	if !snap.ExportedTo(KindVirtualService, nil, "ns", "other") {
		t.Errorf("defaultVirtualServiceExportTo stays [*]")
	}
	if !NewSnapshot("cluster.local", 1, time.Time{}).ServiceVisibleTo(private, "other") {
		t.Errorf("without a mesh config, Istio's default exports everywhere")
	}
}
