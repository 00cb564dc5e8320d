// Package apis holds the Kubernetes wrapper types of the networking.istio.io CRDs, one package per
// served version. They exist for code generation: controller-gen reads them (and the markers on the
// shared spec types in crds/networking) to write the CRD manifests in crds/. Every version wraps the
// same spec and status types, so all versions have one schema, as in Istio.
//
// Regenerate the manifests with `make generate` after changing any of these types or markers.
package apis
