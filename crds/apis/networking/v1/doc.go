// Package v1 holds the networking.istio.io/v1 wrapper types, the storage version.
//
// +groupName=networking.istio.io
package v1
