package server

import (
	"fmt"
	"sort"
	"strings"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// ProxyStatus is one stream's sync state, for /debug/syncz. A node with two streams (two processes
// sharing a bootstrap) shows twice, each with its own state.
type ProxyStatus struct {
	ID         string `json:"id"`
	Stream     int64  `json:"stream"`
	Namespace  string `json:"namespace"`
	Proxyless  bool   `json:"proxyless"`
	Aggregated bool   `json:"aggregated"`
	Protocol   string `json:"protocol"` // SotW or Delta
	// Client is the xDS client's implementation and version (the node's user agent).
	Client string `json:"client,omitempty"`
	// IstioVersion is an Istio sidecar's release (node metadata ISTIO_VERSION).
	IstioVersion string    `json:"istioVersion,omitempty"`
	ClusterID    string    `json:"clusterID,omitempty"` // node metadata CLUSTER_ID
	ConnectedAt  time.Time `json:"connectedAt"`
	// Generation is the model snapshot the stream's config was translated from.
	Generation uint64 `json:"generation"`
	// Staged is true while listeners and routes wait for the endpoints of new clusters.
	Staged   bool                  `json:"staged,omitempty"`
	Warnings []string              `json:"warnings,omitempty"`
	Types    map[string]TypeStatus `json:"types"`
}

// TypeStatus is the sync state of one resource type of a stream.
type TypeStatus struct {
	// Status is istioctl's word for the type: SYNCED (the last response was acknowledged), STALE
	// (sent, not answered yet), ERROR (refused) or NOT SENT.
	Status     string      `json:"status"`
	Subscribed []string    `json:"subscribed,omitempty"` // names asked for; ["*"] for everything
	Published  string      `json:"published,omitempty"`  // the version the stream is being offered
	Sent       exchange    `json:"sent"`
	Acked      exchange    `json:"acked"`
	LastNack   *nackRecord `json:"lastNack,omitempty"`
}

// SyncStatus reports every open stream, sorted by node ID, then oldest first.
func (s *Server) SyncStatus() []ProxyStatus {
	conns := s.connList()
	out := make([]ProxyStatus, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		ps := ProxyStatus{
			ID: c.proxy.ID, Stream: c.id, Namespace: c.proxy.Namespace, Proxyless: c.proxy.Proxyless, Aggregated: c.aggregated, Protocol: c.protocol(),
			Client: strings.TrimSpace(c.proxy.ClientName + " " + c.proxy.ClientVersion), IstioVersion: c.proxy.IstioVersion, ClusterID: c.proxy.ClusterID,
			ConnectedAt: c.connectedAt, Generation: c.generation, Staged: c.staged, Warnings: c.warnings,
			Types: map[string]TypeStatus{},
		}
		for t := range numTypes {
			ts := TypeStatus{Status: c.syncState(t), Published: c.published[t].version, Sent: c.sent[t], Acked: c.acked[t]}
			if sub := c.subs[t]; sub.requested {
				ts.Subscribed = subscribedNames(sub)
			}
			if c.nack[t].Version != "" {
				nack := c.nack[t]
				ts.LastNack = &nack
			}
			ps.Types[typeShort[t]] = ts
		}
		c.mu.Unlock()
		out = append(out, ps)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
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

// ConfigDump returns what a node was last sent, in the shape of Envoy's admin /config_dump. Of a
// node with several streams, the newest is shown. The node is named by its ID or, as istioctl
// names it, by its "<pod>.<namespace>".
func (s *Server) ConfigDump(nodeID string) (*adminv3.ConfigDump, error) {
	c, err := s.connOf(nodeID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// What the client holds: a partial EDS or RDS response is applied to what it had.
	return dumpOf(c.holdsSet), nil
}

// connOf finds the newest stream of a node, by node ID or by "<pod>.<namespace>".
func (s *Server) connOf(node string) (*conn, error) {
	var c *conn
	for _, cand := range s.connList() {
		if cand.proxy.ID == node || cand.proxy.Workload == node {
			c = cand
		}
	}
	if c == nil {
		return nil, fmt.Errorf("no proxy %q is connected", node)
	}
	return c, nil
}

// syncState is istioctl's status of a type on a stream whose lock is held.
func (c *conn) syncState(t int) string {
	switch sent := c.sent[t]; {
	case sent.Nonce == "":
		return "NOT SENT"
	case c.nack[t].Nonce == sent.Nonce:
		return "ERROR"
	case c.acked[t].Nonce == sent.Nonce:
		return "SYNCED"
	default:
		return "STALE"
	}
}

// dumpOf is Envoy's admin ConfigDump of a set per type.
func dumpOf(sets [numTypes]typeSet) *adminv3.ConfigDump {
	clusters := &adminv3.ClustersConfigDump{VersionInfo: sets[cds].version}
	for _, e := range sets[cds].entries {
		clusters.DynamicActiveClusters = append(clusters.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{
			VersionInfo: sets[cds].version, Cluster: anyOf(cds, e)})
	}
	endpoints := &adminv3.EndpointsConfigDump{}
	for _, e := range sets[eds].entries {
		endpoints.DynamicEndpointConfigs = append(endpoints.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{
			VersionInfo: sets[eds].version, EndpointConfig: anyOf(eds, e)})
	}
	listeners := &adminv3.ListenersConfigDump{VersionInfo: sets[lds].version}
	for _, e := range sets[lds].entries {
		listeners.DynamicListeners = append(listeners.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{
			Name:        e.name,
			ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: sets[lds].version, Listener: anyOf(lds, e)},
		})
	}
	routes := &adminv3.RoutesConfigDump{}
	for _, e := range sets[rds].entries {
		routes.DynamicRouteConfigs = append(routes.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{
			VersionInfo: sets[rds].version, RouteConfig: anyOf(rds, e)})
	}
	return &adminv3.ConfigDump{Configs: []*anypb.Any{mustAny(clusters), mustAny(endpoints), mustAny(listeners), mustAny(routes)}}
}

// anyOf packs a resource from its wire bytes.
func anyOf(t int, e *resource) *anypb.Any { return &anypb.Any{TypeUrl: typeURLs[t], Value: e.raw} }

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic("server: packing a resource: " + err.Error())
	}
	return a
}
