// Package memory is an in-memory model source for tests and embedders: what is put in is what the
// model sees, with no files or API server between.
package memory

import (
	"slices"
	"sync"

	"github.com/minipilot/minipilot/model"
)

// Source holds a Part that callers change directly.
type Source struct {
	mu   sync.Mutex
	part model.Part
	reg  *model.Registration
}

// New registers an empty, synced source with the store.
func New(store *model.Store, name string) *Source {
	s := &Source{}
	s.reg = store.Register(name, s)
	s.reg.Synced()
	return s
}

// Part returns a copy of what the source holds.
func (s *Source) Part() model.Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.part
	p.Services = slices.Clone(p.Services)
	p.Endpoints = slices.Clone(p.Endpoints)
	p.VirtualServices = slices.Clone(p.VirtualServices)
	p.DestinationRules = slices.Clone(p.DestinationRules)
	p.ServiceEntries = slices.Clone(p.ServiceEntries)
	p.Gateways = slices.Clone(p.Gateways)
	p.Sidecars = slices.Clone(p.Sidecars)
	p.Rejections = slices.Clone(p.Rejections)
	return p
}

// Replace swaps in a whole new part.
func (s *Source) Replace(p model.Part) {
	s.mu.Lock()
	s.part = p
	s.mu.Unlock()
	s.reg.Changed()
}

// Update changes the part in place under the source's lock and reports the change.
func (s *Source) Update(change func(p *model.Part)) {
	s.mu.Lock()
	change(&s.part)
	s.mu.Unlock()
	s.reg.Changed()
}
