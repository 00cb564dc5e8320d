package model

import "slices"

// WithOverlay returns a snapshot of the store's current sources with overlay applied on top, as if
// its objects had been applied: an overlay rule replaces the rule of the same kind, namespace and
// name, and an overlay service's definition wins over every source's. Nothing in the store changes;
// the snapshot keeps the current generation. Pending changes not yet folded into a snapshot are
// not included.
func (s *Store) WithOverlay(overlay Part) *Snapshot {
	s.mu.Lock()
	parts := make([]Part, 0, len(s.sources)+1)
	for _, r := range s.sources {
		parts = append(parts, r.part)
	}
	generation, changedAt := s.current.Generation, s.current.ChangedAt
	s.mu.Unlock()

	replaced := map[string]bool{}
	for _, c := range overlay.configs() {
		replaced[c.ConfigMeta().Key()] = true
	}
	out := []Part{CheckPart(overlay)}
	for _, p := range parts {
		p.VirtualServices = withoutKeys(p.VirtualServices, replaced)
		p.DestinationRules = withoutKeys(p.DestinationRules, replaced)
		p.ServiceEntries = withoutKeys(p.ServiceEntries, replaced)
		p.Gateways = withoutKeys(p.Gateways, replaced)
		out = append(out, p)
	}
	return NewSnapshot(s.domainSuffix, generation, changedAt, out...)
}

// configs lists a part's routing rules.
func (p Part) configs() []Config {
	var out []Config
	for _, c := range p.VirtualServices {
		out = append(out, c)
	}
	for _, c := range p.DestinationRules {
		out = append(out, c)
	}
	for _, c := range p.ServiceEntries {
		out = append(out, c)
	}
	for _, c := range p.Gateways {
		out = append(out, c)
	}
	return out
}

func withoutKeys[T Config](items []T, drop map[string]bool) []T {
	return slices.DeleteFunc(slices.Clone(items), func(c T) bool { return drop[c.ConfigMeta().Key()] })
}
