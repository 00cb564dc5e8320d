package translate

import (
	"strings"

	"github.com/minipilot/minipilot/model"
)

// destinationRuleWarnings says which DestinationRules visible to this proxy share a host in one
// namespace, so that Istio (and minipilot) merge them, and what the merge leaves out: a subset an
// older rule already defines, a trafficPolicy when an older rule has one.
func (b *builder) destinationRuleWarnings() {
	for _, m := range b.snap.DestinationRuleMerges() {
		if !b.snap.ExportedTo(model.KindDestinationRule, m.Into.Spec.ExportTo, m.Into.Namespace, b.proxy.Namespace) {
			continue
		}
		b.warn(m.Into.Meta, ResourceRef{}, "%s", strings.Join(m.Notes, "; "))
	}
}
