package model

import "strings"

// Endpoint is one address:port serving one port of a service.
type Endpoint struct {
	// Service is the hostname of the service the endpoint belongs to.
	Service string `json:"service"`
	// ServicePort names the service port this endpoint serves; empty for a single unnamed port.
	ServicePort string `json:"servicePort"`
	Address     string `json:"address"`
	Port        uint32 `json:"port"`
	// Labels are the labels of the workload (the Pod) behind the endpoint; subsets select on them.
	Labels   map[string]string `json:"labels,omitempty"`
	Ready    bool              `json:"ready"`
	Locality Locality          `json:"locality,omitempty"`
	// Weight is the relative load balancing weight; 0 means 1.
	Weight uint32 `json:"weight,omitempty"`
	// Workload names the workload behind the endpoint ("pod.namespace"), for debugging.
	Workload string `json:"workload,omitempty"`
	// Cluster is the cluster the endpoint lives in, for multi-cluster meshes.
	Cluster string `json:"cluster,omitempty"`
}

// Locality is where an endpoint runs.
type Locality struct {
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	SubZone string `json:"subZone,omitempty"`
}

// IsZero says whether nothing is known of the locality.
func (l Locality) IsZero() bool { return l == Locality{} }

// String writes the locality as Istio does: region/zone/subzone.
func (l Locality) String() string {
	if l.IsZero() {
		return ""
	}
	return strings.TrimRight(l.Region+"/"+l.Zone+"/"+l.SubZone, "/")
}

// ParseLocality reads "region/zone/subzone" (any suffix may be missing).
func ParseLocality(s string) Locality {
	parts := strings.SplitN(s, "/", 3)
	var l Locality
	l.Region = parts[0]
	if len(parts) > 1 {
		l.Zone = parts[1]
	}
	if len(parts) > 2 {
		l.SubZone = parts[2]
	}
	return l
}

// LabelsMatch says whether every selector label is in labels (an empty selector matches all).
func LabelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
