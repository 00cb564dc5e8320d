package server

import (
	"fmt"
	"sort"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// ProxyStatus is one node's sync state, for /debug/syncz.
type ProxyStatus struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	Proxyless   bool      `json:"proxyless"`
	ConnectedAt time.Time `json:"connectedAt"`
	Streams     int       `json:"streams"`
	// Generation is the model snapshot the node's config was translated from.
	Generation uint64 `json:"generation"`
	// Staged is true while listeners and routes wait for the endpoints of new clusters.
	Staged   bool                  `json:"staged,omitempty"`
	Warnings []string              `json:"warnings,omitempty"`
	Types    map[string]TypeStatus `json:"types"`
}

// TypeStatus is the sync state of one resource type of a node.
type TypeStatus struct {
	Subscribed []string    `json:"subscribed,omitempty"` // names asked for; ["*"] for everything
	Published  string      `json:"published,omitempty"`  // the version the node is being offered
	Sent       exchange    `json:"sent"`
	Acked      exchange    `json:"acked"`
	LastNack   *nackRecord `json:"lastNack,omitempty"`
}

// SyncStatus reports every connected node, sorted by ID.
func (s *Server) SyncStatus() []ProxyStatus {
	nodes := s.nodeList()
	out := make([]ProxyStatus, 0, len(nodes))
	for _, n := range nodes {
		n.mu.Lock()
		ps := ProxyStatus{
			ID: n.id, Namespace: n.proxy.Namespace, Proxyless: n.proxy.Proxyless, ConnectedAt: n.connectedAt,
			Streams: len(n.streams), Generation: n.generation, Staged: n.staged, Warnings: n.warnings,
			Types: map[string]TypeStatus{},
		}
		for t := range numTypes {
			ts := TypeStatus{Published: n.published[t].version, Sent: n.sent[t], Acked: n.acked[t]}
			if sub := n.subscription(t); sub.requested {
				ts.Subscribed = subscribedNames(sub)
			}
			if n.nack[t].Version != "" {
				nack := n.nack[t]
				ts.LastNack = &nack
			}
			ps.Types[typeShort[t]] = ts
		}
		n.mu.Unlock()
		out = append(out, ps)
	}
	return out
}

func subscribedNames(sub subscription) []string {
	if sub.wildcard {
		return []string{"*"}
	}
	names := make([]string, 0, len(sub.names))
	for n := range sub.names {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConfigDump returns what a node was last sent, in the shape of Envoy's admin /config_dump.
func (s *Server) ConfigDump(nodeID string) (*adminv3.ConfigDump, error) {
	s.mu.Lock()
	n := s.nodes[nodeID]
	s.mu.Unlock()
	if n == nil {
		return nil, fmt.Errorf("no proxy %q is connected", nodeID)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var sets [numTypes]typeSet
	for t := range numTypes {
		if set, ok := n.recentSet(t, n.sent[t].Version); ok {
			sets[t] = set
		}
	}
	clusters := &adminv3.ClustersConfigDump{VersionInfo: sets[cds].version}
	for _, item := range sets[cds].items {
		clusters.DynamicActiveClusters = append(clusters.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{
			VersionInfo: sets[cds].version, Cluster: mustAny(item)})
	}
	endpoints := &adminv3.EndpointsConfigDump{}
	for _, item := range sets[eds].items {
		endpoints.DynamicEndpointConfigs = append(endpoints.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{
			VersionInfo: sets[eds].version, EndpointConfig: mustAny(item)})
	}
	listeners := &adminv3.ListenersConfigDump{VersionInfo: sets[lds].version}
	for i, item := range sets[lds].items {
		listeners.DynamicListeners = append(listeners.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{
			Name:        sets[lds].names[i],
			ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: sets[lds].version, Listener: mustAny(item)},
		})
	}
	routes := &adminv3.RoutesConfigDump{}
	for _, item := range sets[rds].items {
		routes.DynamicRouteConfigs = append(routes.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{
			VersionInfo: sets[rds].version, RouteConfig: mustAny(item)})
	}
	return &adminv3.ConfigDump{Configs: []*anypb.Any{mustAny(clusters), mustAny(endpoints), mustAny(listeners), mustAny(routes)}}, nil
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic("server: packing a resource: " + err.Error())
	}
	return a
}
