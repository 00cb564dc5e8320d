// Package model is the platform-neutral view of the mesh: services, endpoints and routing rules, and an
// immutable, versioned snapshot of them all. Adapters (Kubernetes, files, memory) fill it; the xDS layer
// reads it. It imports nothing from Kubernetes or Envoy.
package model

import (
	"fmt"
	"net/netip"
	"strings"
)

// Resolution says how a proxy finds the endpoints of a service.
type Resolution int

const (
	// ClientSideLB: the proxy balances over endpoints it is sent (a ClusterIP service).
	ClientSideLB Resolution = iota
	// Passthrough: the proxy forwards to the address the client dialled (a headless service).
	Passthrough
	// DNSLB: the proxy resolves a DNS name (an ExternalName service, a DNS ServiceEntry).
	DNSLB
	// DNSRoundRobinLB: the proxy resolves a DNS name and uses one address at a time (LOGICAL_DNS).
	DNSRoundRobinLB
)

func (r Resolution) String() string {
	switch r {
	case ClientSideLB:
		return "ClientSideLB"
	case Passthrough:
		return "Passthrough"
	case DNSLB:
		return "DNS"
	case DNSRoundRobinLB:
		return "DNSRoundRobin"
	}
	return fmt.Sprintf("Resolution(%d)", int(r))
}

// MarshalText makes resolutions readable in debug output and golden files.
func (r Resolution) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (r *Resolution) UnmarshalText(b []byte) error {
	for _, c := range []Resolution{ClientSideLB, Passthrough, DNSLB, DNSRoundRobinLB} {
		if c.String() == string(b) {
			*r = c
			return nil
		}
	}
	return fmt.Errorf("unknown resolution %q", b)
}

// Service is a named set of ports in front of endpoints.
type Service struct {
	// Hostname is the fully qualified name: name.namespace.svc.<domain> for Kubernetes services.
	Hostname  string `json:"hostname"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Address is the virtual IP (ClusterIP); empty for headless and external services.
	Address string `json:"address,omitempty"`
	// Addresses are all the virtual IPs and CIDRs of a ServiceEntry (Address is the first plain IP);
	// outbound TCP listeners are made for each.
	Addresses []string `json:"addresses,omitempty"`
	// SubjectAltNames are the identities the service's servers present (ServiceEntry
	// subjectAltNames); TLS origination verifies them when the DestinationRule names none.
	SubjectAltNames []string `json:"subjectAltNames,omitempty"`
	// ExternalName is the DNS name an ExternalName service points at.
	ExternalName string            `json:"externalName,omitempty"`
	Resolution   Resolution        `json:"resolution"`
	Ports        []Port            `json:"ports"`
	Labels       map[string]string `json:"labels,omitempty"`
	// MeshExternal marks services outside the mesh (ServiceEntry location MESH_EXTERNAL).
	MeshExternal bool `json:"meshExternal,omitempty"`
	// ExportTo lists the namespaces that see the service ("*" or empty for all, "." for its own).
	ExportTo []string `json:"exportTo,omitempty"`
	// Clusters lists the clusters (Kubernetes or other sources) the service was seen in.
	Clusters []string `json:"clusters,omitempty"`
}

// Port is one port of a service.
type Port struct {
	Name     string   `json:"name,omitempty"`
	Port     uint32   `json:"port"`
	Protocol Protocol `json:"protocol"`
	// TargetPort is the endpoint port when it is a number and no endpoint says otherwise.
	TargetPort uint32 `json:"targetPort,omitempty"`
}

// PortByNumber returns the service port with that number.
func (s *Service) PortByNumber(n uint32) (Port, bool) {
	for _, p := range s.Ports {
		if p.Port == n {
			return p, true
		}
	}
	return Port{}, false
}

// Key identifies a service in a snapshot.
func (s *Service) Key() string { return s.Hostname }

// ExportedTo implements Istio's exportTo: empty or "*" is everywhere, "." is the own namespace,
// anything else is a namespace name.
func ExportedTo(exportTo []string, own, ns string) bool {
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case "*":
			return true
		case ".":
			if ns == own {
				return true
			}
		default:
			if e == ns {
				return true
			}
		}
	}
	return false
}

// ServiceHostname is the FQDN of a Kubernetes-style service.
func ServiceHostname(name, namespace, domainSuffix string) string {
	return name + "." + namespace + ".svc." + domainSuffix
}

// ResolveShortName turns a host as written in a rule into an FQDN exactly as Istio's
// ResolveShortnameToFQDN does: a name without dots is a Kubernetes service in the rule's namespace;
// anything else ("reviews.prod", an FQDN, a wildcard, an IP address) stays as it is. "reviews.prod"
// therefore names no Kubernetes service: write "reviews.prod.svc.cluster.local" (the same YAML means
// the same thing here and in Istio).
func ResolveShortName(host, namespace, domainSuffix string) string {
	if host == "" || host == "*" || strings.Contains(host, ".") {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	return ServiceHostname(host, namespace, domainSuffix)
}

// SearchNames are the FQDNs a client in namespace may mean by a name, as its DNS search path
// (<ns>.svc.<domain>, svc.<domain>, <domain>) resolves it: the name itself first. gRPC targets
// ("xds:///reviews.prod:9080") are names a client resolves, not rule hosts.
func SearchNames(name, namespace, domainSuffix string) []string {
	out := []string{name}
	if name == "" || strings.HasPrefix(name, "*") {
		return out
	}
	switch strings.Count(name, ".") {
	case 0:
		out = append(out, ServiceHostname(name, namespace, domainSuffix))
	case 1:
		out = append(out, name+".svc."+domainSuffix)
	}
	if strings.HasSuffix(name, ".svc") {
		out = append(out, name+"."+domainSuffix)
	}
	return out
}

// HostMatches says whether a (possibly wildcard) host written in a rule covers the hostname.
func HostMatches(pattern, hostname string) bool {
	if pattern == "*" {
		return true
	}
	if strings.HasPrefix(pattern, "*") {
		return strings.HasSuffix(hostname, pattern[1:])
	}
	return pattern == hostname
}
