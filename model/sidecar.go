package model

import (
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

// SidecarResource is a Sidecar in force (the name Sidecar is the proxy type).
type SidecarResource struct {
	Meta
	Spec *networking.Sidecar `json:"spec"`
}

// SidecarFor returns the Sidecar that applies to a workload, as Istio chooses it: in the workload's
// namespace, the oldest whose workloadSelector selects it, else the oldest without a selector; else
// the root namespace's oldest without a selector (the mesh-wide default); nil when none applies
// (the proxy sees everything exported to it). A selector that selects nothing (no labels) counts as
// none, as in Istio.
func (s *Snapshot) SidecarFor(namespace string, labels map[string]string) *SidecarResource {
	var fallback *SidecarResource
	for _, sc := range s.sidecarsByNS[namespace] {
		if sel := sc.Spec.WorkloadSelector; sel != nil && len(sel.Labels) > 0 {
			if LabelsMatch(sel.Labels, labels) {
				return sc
			}
		} else if fallback == nil {
			fallback = sc
		}
	}
	if fallback != nil {
		return fallback
	}
	for _, sc := range s.sidecarsByNS[s.mesh.RootNamespace] {
		if sel := sc.Spec.WorkloadSelector; sel == nil || len(sel.Labels) == 0 {
			return sc
		}
	}
	return nil
}

// ShadowedSidecars lists the selector-less Sidecars of a namespace that an older one overrides (Istio
// uses the oldest and ignores the rest), each with the one in force.
func (s *Snapshot) ShadowedSidecars(namespace string) (inForce *SidecarResource, shadowed []*SidecarResource) {
	for _, sc := range s.sidecarsByNS[namespace] {
		if sel := sc.Spec.WorkloadSelector; sel == nil || len(sel.Labels) == 0 {
			if inForce == nil {
				inForce = sc
			} else {
				shadowed = append(shadowed, sc)
			}
		}
	}
	return inForce, shadowed
}

// SidecarScope is what a Sidecar (or its absence) lets a proxy in a namespace reach.
type SidecarScope struct {
	// Sidecar is the resource, nil for the default scope (every host, every port).
	Sidecar *SidecarResource
	Egress  []EgressScope
	// OutboundTrafficPolicy is the Sidecar's mode, else the mesh's.
	OutboundTrafficPolicy string
}

// EgressScope is one egress listener: a port (0: every port) and the hosts it imports.
type EgressScope struct {
	Port     uint32
	Protocol Protocol
	Name     string
	hosts    map[string]*hostClass // namespace ("*" for any) → hosts
}

type hostClass struct {
	exact    map[string]bool
	all      []string
	excluded []string
}

// Scope is the scope of a Sidecar (nil: the default) for proxies in namespace.
func (s *Snapshot) Scope(sc *SidecarResource, namespace string) *SidecarScope {
	out := &SidecarScope{Sidecar: sc, OutboundTrafficPolicy: s.mesh.OutboundTrafficPolicy}
	var egress []*networking.IstioEgressListener
	if sc != nil {
		egress = sc.Spec.Egress
		if tp := sc.Spec.OutboundTrafficPolicy; tp != nil && tp.Mode != "" {
			out.OutboundTrafficPolicy = tp.Mode
		}
	}
	if len(egress) == 0 {
		egress = []*networking.IstioEgressListener{{Hosts: []string{"*/*"}}}
	}
	for _, e := range egress {
		es := EgressScope{hosts: map[string]*hostClass{}}
		if e.Port != nil {
			es.Port, es.Protocol, es.Name = e.Port.Number, ParseProtocol(e.Port.Protocol), e.Port.Name
		}
		for _, h := range e.Hosts {
			ns, name, ok := strings.Cut(h, "/")
			if !ok {
				continue // the validator refuses it
			}
			excluded := strings.HasPrefix(ns, "~")
			if excluded {
				if ns = strings.TrimPrefix(ns, "~"); ns == "" {
					ns = "*"
				}
			}
			if ns == "." {
				ns = namespace
			}
			hc := es.hosts[ns]
			if hc == nil {
				hc = &hostClass{exact: map[string]bool{}}
				es.hosts[ns] = hc
			}
			switch {
			case excluded:
				hc.excluded = append(hc.excluded, name)
			case strings.HasPrefix(name, "*"):
				hc.all = append(hc.all, name)
			default:
				hc.exact[name] = true
				hc.all = append(hc.all, name)
			}
		}
		out.Egress = append(out.Egress, es)
	}
	return out
}

// Default says whether the scope is the default one (no Sidecar).
func (sc *SidecarScope) Default() bool { return sc.Sidecar == nil }

// matches says whether the hosts cover a hostname (Istio's hostClassification.Matches, SubsetOf).
func (hc *hostClass) matches(host string) bool {
	if hc == nil {
		return false
	}
	if hc.exact[host] {
		return true
	}
	for _, h := range hc.all {
		if strings.HasPrefix(h, "*") && HostMatches(h, host) {
			return true
		}
	}
	return false
}

func (hc *hostClass) excludes(host string) bool {
	return hc != nil && slices.ContainsFunc(hc.excluded, func(h string) bool { return HostMatches(h, host) })
}

// Imports says whether the egress listener imports a service, as Istio's selectServices: not
// excluded, then its own namespace's hosts or the any-namespace ones.
func (e *EgressScope) Imports(svc *Service) bool {
	own, any := e.hosts[svc.Namespace], e.hosts["*"]
	if own.excludes(svc.Hostname) || any.excludes(svc.Hostname) {
		return false
	}
	return own.matches(svc.Hostname) || any.matches(svc.Hostname)
}

// ImportsHost says whether the listener's hosts cover a VirtualService host in namespace ns, in
// either direction as Istio's (non-gateway) VSMatches does: "*.example.com" imports a rule for
// "a.example.com", and "a.example.com" one for "*.example.com".
func (e *EgressScope) ImportsHost(host, ns string) bool {
	for _, key := range []string{ns, "*"} {
		hc := e.hosts[key]
		if hc == nil {
			continue
		}
		if hc.exact[host] {
			return true
		}
		for _, h := range hc.all {
			if HostMatches(h, host) || HostMatches(host, h) {
				return true
			}
		}
	}
	return false
}
