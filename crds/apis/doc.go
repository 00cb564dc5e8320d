// Package apis holds the Kubernetes wrapper types of the networking.istio.io CRDs, one package per
// served version. They exist for code generation: controller-gen reads them (and the markers on the
// shared spec types in crds/networking) to write the CRD manifests in crds/. Every version wraps the
// same spec and status types, so all versions have one schema, as in Istio; v1 is stored.
//
// Regenerate the manifests with `make generate` after changing any of these types or markers;
// crds/crds_test.go fails while they are stale.
//
// Markers on the spec types, and why:
//   - Enums, minimums and maximums refuse single-field mistakes (a weight of 120, port 70000).
//   - x-kubernetes-validations (CEL) refuse what spans fields: only one of exact/prefix/regex, of
//     route/redirect/directResponse/delegate, and so on; their messages match the validator's.
//   - Duration is a string checked by a CEL regex of Go's time.ParseDuration syntax.
//   - maxItems/maxProperties/maxLength exist where CEL rules sit under lists, maps or strings: the
//     API server refuses a CRD whose estimated worst-case CEL cost exceeds its budget, and the
//     estimate multiplies the cost of a rule by the largest number of times it can run. The limits
//     chosen leave about 2x headroom (doubling http or subsets still fits, 8x does not).
//
// Rules that need the whole object or minipilot's capabilities (weights adding up to 100, valid host
// names and regexes, unsupported features) stay in crds/validation and surface as status conditions.
package apis
