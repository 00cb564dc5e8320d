// Package v1beta1 holds the networking.istio.io/v1beta1 wrapper types; same schema as v1.
//
// +groupName=networking.istio.io
package v1beta1
