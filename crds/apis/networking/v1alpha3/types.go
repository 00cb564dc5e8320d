package v1alpha3

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/crds/apis/status"
	"github.com/minipilot/minipilot/crds/networking"
)

// VirtualService configures how requests sent to its hosts are routed.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vs,categories=istio-io;networking-istio-io
// +kubebuilder:printcolumn:name="Gateways",type=string,JSONPath=".spec.gateways",description="The names of gateways and sidecars that should apply these routes"
// +kubebuilder:printcolumn:name="Hosts",type=string,JSONPath=".spec.hosts",description="The destination hosts to which traffic is being sent"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type VirtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   networking.VirtualService `json:"spec,omitempty"`
	Status status.Status             `json:"status,omitempty"`
}

// DestinationRule defines the policies that apply to a service's traffic after routing: subsets,
// load balancing, connection pools, outlier detection and TLS.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dr,categories=istio-io;networking-istio-io
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=".spec.host",description="The name of a service from the service registry"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type DestinationRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   networking.DestinationRule `json:"spec,omitempty"`
	Status status.Status              `json:"status,omitempty"`
}

// ServiceEntry adds an entry, typically a service outside the cluster, to the service registry.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=se,categories=istio-io;networking-istio-io
// +kubebuilder:printcolumn:name="Hosts",type=string,JSONPath=".spec.hosts",description="The hosts associated with the ServiceEntry"
// +kubebuilder:printcolumn:name="Location",type=string,JSONPath=".spec.location",description="Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)"
// +kubebuilder:printcolumn:name="Resolution",type=string,JSONPath=".spec.resolution",description="Service resolution mode for the hosts (NONE, STATIC, or DNS)"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type ServiceEntry struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   networking.ServiceEntry `json:"spec,omitempty"`
	Status status.Status           `json:"status,omitempty"`
}

// Gateway describes a load balancer at the edge of the mesh: the ports it listens on and their hosts.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gw,categories=istio-io;networking-istio-io
type Gateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   networking.Gateway `json:"spec,omitempty"`
	Status status.Status      `json:"status,omitempty"`
}

// Sidecar scopes what the sidecars of the workloads it selects may reach, and how their inbound
// side is served.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=istio-io;networking-istio-io
type Sidecar struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   networking.Sidecar `json:"spec,omitempty"`
	Status status.Status      `json:"status,omitempty"`
}
