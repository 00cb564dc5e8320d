// Package status holds the status type shared by every networking.istio.io kind and version.
package status

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Status is written by minipilot's controller through the status subresource.
type Status struct {
	// Conditions say whether the object was accepted, one condition per type.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation of the spec this status describes.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}
