package translate

import (
	"slices"
	"strings"

	"github.com/minipilot/minipilot/model"
)

// Which VirtualServices and match blocks apply where. A VirtualService names the gateways it is
// bound to ("ns/name", or "name" in its own namespace) and "mesh" for sidecars; without gateways it
// is for sidecars only. A match block's gateways narrow that further. The builder's gateways field
// is empty for sidecars and gRPC clients (they are "mesh"), and for a router holds the gateway whose
// server is being built.

// gatewayRef is the full name ("ns/name") a gateway reference means, or "mesh".
func gatewayRef(ref, namespace string) string {
	if ref == "mesh" || strings.Contains(ref, "/") {
		return ref
	}
	return namespace + "/" + ref
}

// bindsTo says whether references written in namespace include where this config is for.
func (b *builder) bindsTo(refs []string, namespace string) bool {
	if len(b.gateways) == 0 {
		return len(refs) == 0 || slices.Contains(refs, "mesh")
	}
	for _, ref := range refs {
		if slices.Contains(b.gateways, gatewayRef(ref, namespace)) {
			return true
		}
	}
	return false
}

// matchBound says whether a match block's gateways (none: wherever its VirtualService applies)
// include where this config is for.
func (b *builder) matchBound(refs []string, namespace string) bool {
	return len(refs) == 0 || b.bindsTo(refs, namespace)
}

// vsApplies says whether a VirtualService is for this proxy: exported to its namespace and bound to
// the mesh (a sidecar) or to the gateway being built (a router).
func (b *builder) vsApplies(vs *model.VirtualService) bool {
	return b.snap.ExportedTo(model.KindVirtualService, vs.Spec.ExportTo, vs.Namespace, b.proxy.Namespace) && b.bindsTo(vs.Spec.Gateways, vs.Namespace)
}
