// Package v1alpha3 holds the networking.istio.io/v1alpha3 wrapper types; same schema as v1.
//
// +groupName=networking.istio.io
package v1alpha3
