package model

import (
	"reflect"
	"slices"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

// Outbound traffic policy modes, as Istio names them.
const (
	// AllowAny passes traffic to hosts the mesh does not know through to where it was sent.
	AllowAny = "ALLOW_ANY"
	// RegistryOnly sends traffic to hosts the mesh does not know to the black hole.
	RegistryOnly = "REGISTRY_ONLY"
)

// DefaultRootNamespace is Istio's default mesh config root namespace: the namespace whose
// selector-less Sidecar is every namespace's default.
const DefaultRootNamespace = "istio-system"

// MeshConfig is the part of Istio's MeshConfig minipilot reads, with Istio's defaults
// (DefaultMeshConfig). A snapshot always has one.
type MeshConfig struct {
	RootNamespace string `json:"rootNamespace"`
	// OutboundTrafficPolicy is AllowAny or RegistryOnly (outboundTrafficPolicy.mode).
	OutboundTrafficPolicy string `json:"outboundTrafficPolicy"`
	// The exportTo of services and rules that say none.
	DefaultServiceExportTo         []string `json:"defaultServiceExportTo"`
	DefaultVirtualServiceExportTo  []string `json:"defaultVirtualServiceExportTo"`
	DefaultDestinationRuleExportTo []string `json:"defaultDestinationRuleExportTo"`
	// DiscoveryAddress is defaultConfig.discoveryAddress: where proxies are told to find the control
	// plane (shown in /debug/mesh; a bootstrap generator would use it).
	DiscoveryAddress string `json:"discoveryAddress"`
	// LocalityLbSetting applies to traffic whose DestinationRule has none.
	LocalityLbSetting *networking.LocalityLoadBalancerSetting `json:"localityLbSetting,omitempty"`
	// ProtocolDetectionTimeout is how long a listener sniffing a port's protocol waits for the first
	// bytes; 0 waits for ever (Istio's default).
	ProtocolDetectionTimeout time.Duration `json:"protocolDetectionTimeout"`
	// Source is where it was read ("" for the defaults); Warnings what in it was not used.
	Source   string   `json:"source,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// DefaultMeshConfig is Istio's mesh config with nothing set.
func DefaultMeshConfig() *MeshConfig {
	enabled := true
	return &MeshConfig{
		RootNamespace:                  DefaultRootNamespace,
		OutboundTrafficPolicy:          AllowAny,
		DefaultServiceExportTo:         []string{"*"},
		DefaultVirtualServiceExportTo:  []string{"*"},
		DefaultDestinationRuleExportTo: []string{"*"},
		DiscoveryAddress:               "istiod.istio-system.svc:15012",
		LocalityLbSetting:              &networking.LocalityLoadBalancerSetting{Enabled: &enabled},
	}
}

// Equal says whether two mesh configs translate alike (Source and Warnings aside).
func (m *MeshConfig) Equal(o *MeshConfig) bool {
	if m == o {
		return true
	}
	if m == nil || o == nil {
		return false
	}
	a, b := *m, *o
	a.Source, b.Source, a.Warnings, b.Warnings = "", "", nil, nil
	return a.RootNamespace == b.RootNamespace && a.OutboundTrafficPolicy == b.OutboundTrafficPolicy &&
		slices.Equal(a.DefaultServiceExportTo, b.DefaultServiceExportTo) &&
		slices.Equal(a.DefaultVirtualServiceExportTo, b.DefaultVirtualServiceExportTo) &&
		slices.Equal(a.DefaultDestinationRuleExportTo, b.DefaultDestinationRuleExportTo) &&
		a.DiscoveryAddress == b.DiscoveryAddress && a.ProtocolDetectionTimeout == b.ProtocolDetectionTimeout &&
		reflect.DeepEqual(a.LocalityLbSetting, b.LocalityLbSetting)
}

// Mesh is the snapshot's mesh config: the first part's that has one, else Istio's defaults.
func (s *Snapshot) Mesh() *MeshConfig { return s.mesh }

// ExportedTo is ExportedTo with the mesh's default exportTo of the kind for objects that say none.
func (s *Snapshot) ExportedTo(kind Kind, exportTo []string, own, ns string) bool {
	if len(exportTo) == 0 {
		switch kind {
		case KindVirtualService:
			exportTo = s.mesh.DefaultVirtualServiceExportTo
		case KindDestinationRule:
			exportTo = s.mesh.DefaultDestinationRuleExportTo
		default:
			exportTo = s.mesh.DefaultServiceExportTo
		}
	}
	return ExportedTo(exportTo, own, ns)
}

// ServiceVisibleTo says whether a proxy in namespace ns may see the service: its exportTo, or the
// mesh's defaultServiceExportTo.
func (s *Snapshot) ServiceVisibleTo(svc *Service, ns string) bool {
	return s.ExportedTo("Service", svc.ExportTo, svc.Namespace, ns)
}
