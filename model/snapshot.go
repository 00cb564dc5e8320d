package model

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Part is what one source (a cluster, a directory of files, a test) knows. Parts are values: a source
// hands out a new one rather than changing one it gave away.
type Part struct {
	Services         []*Service         `json:"services,omitempty"`
	Endpoints        []*Endpoint        `json:"endpoints,omitempty"`
	VirtualServices  []*VirtualService  `json:"virtualServices,omitempty"`
	DestinationRules []*DestinationRule `json:"destinationRules,omitempty"`
	ServiceEntries   []*ServiceEntry    `json:"serviceEntries,omitempty"`
	Gateways         []*Gateway         `json:"gateways,omitempty"`
	Sidecars         []*SidecarResource `json:"sidecars,omitempty"`
	Rejections       []Rejection        `json:"rejections,omitempty"`
	// Mesh is the mesh config, from the source that reads it (a file, the istio ConfigMap); nil
	// from every other source.
	Mesh *MeshConfig `json:"mesh,omitempty"`
}

// Snapshot is an immutable, indexed view of the whole mesh at one moment. Nothing reachable from it
// may be modified: the translator reads it from many goroutines.
type Snapshot struct {
	// Generation counts the snapshots a store has built; it orders them.
	Generation   uint64 `json:"generation"`
	DomainSuffix string `json:"domainSuffix"`
	// ChangedAt is when the oldest change folded into this snapshot was seen; convergence time is
	// measured from it.
	ChangedAt time.Time `json:"changedAt"`

	Services         []*Service         `json:"services"`
	VirtualServices  []*VirtualService  `json:"virtualServices"`
	DestinationRules []*DestinationRule `json:"destinationRules"`
	Gateways         []*Gateway         `json:"gateways"`
	Sidecars         []*SidecarResource `json:"sidecars"`
	Rejections       []Rejection        `json:"rejections"`

	mesh         *MeshConfig
	sidecarsByNS map[string][]*SidecarResource // namespace → Sidecars, oldest first

	byHost     map[string]*Service
	endpoints  map[string]map[string][]*Endpoint // hostname → service port name → endpoints
	vsByHost   map[string][]*VirtualService      // service hostname → rules naming it, oldest first
	vsByName   map[string]*VirtualService        // namespace/name → rule, for delegation
	drByHost   map[string][]hostRule             // exact host → rules, oldest first
	drWildcard []hostRule                        // rules for wildcard hosts, oldest first
	drMerges   []DestinationRuleMerge            // the rules as Istio merges them (destinationrule.go)
	byAddress  map[string][]string               // endpoint address → hostnames with an endpoint there, sorted
	selectors  selectorIndex                     // what rules select workloads by (selectors.go)
}

// hostRule is a DestinationRule with its host resolved to an FQDN (or a wildcard).
type hostRule struct {
	host string
	dr   *DestinationRule
}

// NewSnapshot merges parts into a snapshot. A service seen in several parts (clusters) is one service
// whose endpoints are the union; the first part's definition wins.
func NewSnapshot(domainSuffix string, generation uint64, changedAt time.Time, parts ...Part) *Snapshot {
	s := &Snapshot{
		Generation:   generation,
		DomainSuffix: domainSuffix,
		ChangedAt:    changedAt,
		byHost:       map[string]*Service{},
		endpoints:    map[string]map[string][]*Endpoint{},
		vsByHost:     map[string][]*VirtualService{},
		vsByName:     map[string]*VirtualService{},
		drByHost:     map[string][]hostRule{},
	}
	var selecting []*ServiceEntry // entries whose endpoints come from a workloadSelector
	var platform []*Endpoint      // endpoints of platform services, which selectors choose from
	for _, p := range parts {
		for _, svc := range p.Services {
			s.addService(svc)
		}
		for _, se := range p.ServiceEntries {
			svcs, eps := ServiceEntryServices(se, domainSuffix)
			for _, svc := range svcs {
				s.addService(svc)
			}
			for _, ep := range eps {
				s.addEndpoint(ep)
			}
			if se.Spec.WorkloadSelector != nil {
				selecting = append(selecting, se)
			}
		}
		for _, ep := range p.Endpoints {
			s.addEndpoint(ep)
		}
		platform = append(platform, p.Endpoints...)
		s.VirtualServices = append(s.VirtualServices, p.VirtualServices...)
		s.DestinationRules = append(s.DestinationRules, p.DestinationRules...)
		s.Gateways = append(s.Gateways, p.Gateways...)
		s.Sidecars = append(s.Sidecars, p.Sidecars...)
		if s.mesh == nil && p.Mesh != nil {
			s.mesh = p.Mesh
		}
		s.Rejections = append(s.Rejections, p.Rejections...)
	}
	if s.mesh == nil {
		s.mesh = DefaultMeshConfig()
	}
	s.addWorkloadEndpoints(selecting, platform)
	s.index()
	return s
}

func (s *Snapshot) addService(svc *Service) {
	prev, ok := s.byHost[svc.Hostname]
	if !ok {
		s.byHost[svc.Hostname] = svc
		return
	}
	// Another cluster knows the service too: record where it was seen, keep the first definition.
	merged := *prev
	merged.Clusters = append(slices.Clone(prev.Clusters), svc.Clusters...)
	slices.Sort(merged.Clusters)
	merged.Clusters = slices.Compact(merged.Clusters)
	s.byHost[svc.Hostname] = &merged
}

func (s *Snapshot) addEndpoint(ep *Endpoint) {
	ports := s.endpoints[ep.Service]
	if ports == nil {
		ports = map[string][]*Endpoint{}
		s.endpoints[ep.Service] = ports
	}
	ports[ep.ServicePort] = append(ports[ep.ServicePort], ep)
}

func (s *Snapshot) index() {
	for _, svc := range s.byHost {
		s.Services = append(s.Services, svc)
	}
	slices.SortFunc(s.Services, func(a, b *Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	s.byAddress = map[string][]string{}
	for host, ports := range s.endpoints {
		for _, eps := range ports {
			slices.SortFunc(eps, compareEndpoints)
			for _, ep := range eps {
				if hosts := s.byAddress[ep.Address]; len(hosts) == 0 || hosts[len(hosts)-1] != host {
					s.byAddress[ep.Address] = append(hosts, host)
				}
			}
		}
	}
	for _, hosts := range s.byAddress {
		slices.Sort(hosts) // in place; each host is there once (its ports are visited together)
	}
	slices.SortFunc(s.VirtualServices, func(a, b *VirtualService) int { return olderFirst(a.Meta, b.Meta) })
	slices.SortFunc(s.DestinationRules, func(a, b *DestinationRule) int { return olderFirst(a.Meta, b.Meta) })
	slices.SortFunc(s.Gateways, func(a, b *Gateway) int { return olderFirst(a.Meta, b.Meta) })
	slices.SortFunc(s.Sidecars, func(a, b *SidecarResource) int { return olderFirst(a.Meta, b.Meta) })
	s.sidecarsByNS = map[string][]*SidecarResource{}
	for _, sc := range s.Sidecars {
		s.sidecarsByNS[sc.Namespace] = append(s.sidecarsByNS[sc.Namespace], sc)
	}
	slices.SortFunc(s.Rejections, func(a, b Rejection) int {
		return cmp.Or(cmp.Compare(a.Key(), b.Key()), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Reason, b.Reason))
	})
	for _, vs := range s.VirtualServices {
		s.vsByName[vs.Namespace+"/"+vs.Name] = vs
		for _, h := range vs.Spec.Hosts {
			host := s.ResolveHost(h, vs.Namespace)
			if !strings.HasPrefix(host, "*") {
				if s.byHost[host] != nil && !slices.Contains(s.vsByHost[host], vs) {
					s.vsByHost[host] = append(s.vsByHost[host], vs)
				}
				continue
			}
			for _, svc := range s.Services { // a wildcard: every service it covers
				if HostMatches(host, svc.Hostname) && !slices.Contains(s.vsByHost[svc.Hostname], vs) {
					s.vsByHost[svc.Hostname] = append(s.vsByHost[svc.Hostname], vs)
				}
			}
		}
	}
	s.indexSelectors()
	s.drMerges = MergeDestinationRules(s.DestinationRules, s.ResolveHost)
	for _, m := range s.drMerges {
		dr := m.Into
		r := hostRule{host: s.ResolveHost(dr.Spec.Host, dr.Namespace), dr: dr}
		if strings.HasPrefix(r.host, "*") {
			s.drWildcard = append(s.drWildcard, r)
		} else {
			s.drByHost[r.host] = append(s.drByHost[r.host], r)
		}
	}
}

func compareEndpoints(a, b *Endpoint) int {
	return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Cluster, b.Cluster))
}

// Service returns the service with that hostname.
func (s *Snapshot) Service(hostname string) *Service { return s.byHost[hostname] }

// Endpoints returns the endpoints serving a service port, sorted; ready or not. Endpoints name the
// port they serve by its name, which is empty only for a service's single unnamed port.
func (s *Snapshot) Endpoints(hostname string, port Port) []*Endpoint {
	return s.endpoints[hostname][port.Name]
}

// HostsWithEndpointAt lists, sorted, the services that have an endpoint at an address: what a
// sidecar at that address serves. It spares the inbound side a scan of the whole mesh per proxy.
func (s *Snapshot) HostsWithEndpointAt(address string) []string { return s.byAddress[address] }

// VirtualServicesFor returns the VirtualServices whose hosts cover the service, oldest first.
func (s *Snapshot) VirtualServicesFor(hostname string) []*VirtualService { return s.vsByHost[hostname] }

// VirtualService returns a VirtualService by namespace and name (delegates are looked up this way).
func (s *Snapshot) VirtualService(namespace, name string) *VirtualService {
	return s.vsByName[namespace+"/"+name]
}

// DestinationRuleFor returns the DestinationRule that applies to traffic from a proxy in proxyNamespace
// to the service, as Istio picks it: a rule in the proxy's namespace first, then in the service's
// namespace, then anywhere else; within each, an exact host before a wildcard, then the oldest.
// Without the proxy's labels, rules with a workloadSelector apply only if it selects everything.
func (s *Snapshot) DestinationRuleFor(proxyNamespace string, svc *Service) *DestinationRule {
	return s.DestinationRuleForWorkload(proxyNamespace, nil, svc)
}

// DestinationRuleForWorkload is DestinationRuleFor for a proxy with these labels: a rule with a
// workloadSelector applies only to the workloads it selects in its own namespace, and there it wins
// over a rule without one for the same host, as in Istio.
func (s *Snapshot) DestinationRuleForWorkload(proxyNamespace string, proxyLabels map[string]string, svc *Service) *DestinationRule {
	var best *DestinationRule
	bestRank := 0
	for _, candidates := range [][]hostRule{s.drByHost[svc.Hostname], s.drWildcard} {
		for _, r := range candidates {
			if rank := s.drRank(r, svc, proxyNamespace, proxyLabels); rank > bestRank { // among equals the oldest (first) wins
				best, bestRank = r.dr, rank
			}
		}
	}
	return best
}

// drRank scores how well a DestinationRule fits; 0 means it does not apply.
func (s *Snapshot) drRank(r hostRule, svc *Service, proxyNamespace string, proxyLabels map[string]string) int {
	dr, host := r.dr, r.host
	if !HostMatches(host, svc.Hostname) || !s.ExportedTo(KindDestinationRule, dr.Spec.ExportTo, dr.Namespace, proxyNamespace) {
		return 0
	}
	sel := dr.Spec.WorkloadSelector
	if sel != nil && (dr.Namespace != proxyNamespace || !LabelsMatch(sel.MatchLabels, proxyLabels)) {
		return 0
	}
	rank := 1
	switch dr.Namespace {
	case proxyNamespace:
		rank = 5
	case svc.Namespace:
		rank = 3
	}
	if host == svc.Hostname {
		rank++
	}
	rank *= 2
	if sel != nil {
		rank++
	}
	return rank
}

// Add appends a config object to the part's list of its kind.
func (p *Part) Add(c Config) {
	switch c := c.(type) {
	case *VirtualService:
		p.VirtualServices = append(p.VirtualServices, c)
	case *DestinationRule:
		p.DestinationRules = append(p.DestinationRules, c)
	case *ServiceEntry:
		p.ServiceEntries = append(p.ServiceEntries, c)
	case *Gateway:
		p.Gateways = append(p.Gateways, c)
	case *SidecarResource:
		p.Sidecars = append(p.Sidecars, c)
	}
}
