package model

import (
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

// Kind names a routing config kind.
type Kind string

// The routing config kinds of networking.istio.io.
const (
	KindVirtualService  Kind = "VirtualService"
	KindDestinationRule Kind = "DestinationRule"
	KindServiceEntry    Kind = "ServiceEntry"
	KindGateway         Kind = "Gateway"
	KindSidecar         Kind = "Sidecar"
)

// Meta identifies a routing config object and says where it came from.
type Meta struct {
	Kind      Kind   `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Source says where the object was read: "file.yaml#2" (document index) or "kube/<cluster>".
	Source            string    `json:"source,omitempty"`
	ResourceVersion   string    `json:"resourceVersion,omitempty"`
	Generation        int64     `json:"generation,omitempty"`
	CreationTimestamp time.Time `json:"creationTimestamp,omitzero"`
}

// Key is "Kind/namespace/name", unique within a snapshot.
func (m Meta) Key() string { return string(m.Kind) + "/" + m.Namespace + "/" + m.Name }

// VirtualService is a VirtualService in force.
type VirtualService struct {
	Meta
	Spec *networking.VirtualService `json:"spec"`
}

// DestinationRule is a DestinationRule in force.
type DestinationRule struct {
	Meta
	Spec *networking.DestinationRule `json:"spec"`
}

// ServiceEntry is a ServiceEntry in force.
type ServiceEntry struct {
	Meta
	Spec *networking.ServiceEntry `json:"spec"`
}

// Gateway is a Gateway in force.
type Gateway struct {
	Meta
	Spec *networking.Gateway `json:"spec"`
}

// Rejection records a config object (or a document) that was refused, and why. When an object that
// was valid before is refused, its last valid version stays in force beside this record.
type Rejection struct {
	Meta
	Reason string `json:"reason"`
}

// olderFirst orders configs as Istio does when several apply: the oldest wins, then by name.
func olderFirst(a, b Meta) int {
	if !a.CreationTimestamp.Equal(b.CreationTimestamp) {
		if a.CreationTimestamp.Before(b.CreationTimestamp) {
			return -1
		}
		return 1
	}
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	if a.Name < b.Name {
		return -1
	}
	if a.Name > b.Name {
		return 1
	}
	return 0
}

// Config is any routing config object: *VirtualService, *DestinationRule, *ServiceEntry, *Gateway or *SidecarResource.
type Config interface {
	ConfigMeta() Meta
}

// ConfigMeta returns the object's metadata; every config kind has it through embedding.
func (m Meta) ConfigMeta() Meta { return m }
