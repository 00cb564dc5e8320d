package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/xds/adsc"
)

// XDSConfig is what one Envoy-like client (xds/adsc) accepted from a control plane: every resource
// by type and name, and the NACKs it sent on the way.
type XDSConfig struct {
	Resources map[string]map[string]proto.Message // type URL → name → resource
	NACKs     []string                            // "type: reason" of each refused response
}

// FetchXDSConfig connects one sidecar to an xDS server, as Envoy does (CDS, then EDS for its EDS
// clusters, LDS once they are warm, RDS for the route configs listeners name), and returns what it
// holds once it has all four types, every cluster in want (and its endpoints, for an EDS cluster),
// and nothing new has arrived for a moment. It fails the test after timeout.
func FetchXDSConfig(t testing.TB, addr string, opts adsc.Options, want []string, timeout time.Duration) XDSConfig {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := adsc.Dial(ctx, conn, opts)
	if err != nil {
		t.Fatalf("ADS stream to %s: %v", addr, err)
	}
	defer c.Close()

	const quiet = time.Second // istiod may follow a first push with another
	var cfg XDSConfig
	seen := map[string]bool{}
	deadline := time.Now().Add(timeout)
	settled := time.NewTimer(timeout)
	defer settled.Stop()
	for {
		select {
		case r, ok := <-c.Responses():
			if !ok {
				t.Fatalf("ADS stream to %s ended: %v", addr, c.Err())
			}
			if r.Err != nil {
				cfg.NACKs = append(cfg.NACKs, fmt.Sprintf("%s: %v", r.TypeURL, r.Err))
				continue
			}
			seen[r.TypeURL] = true
			// Complete: done after a quiet moment. Not (any more): wait until the deadline.
			if complete(c, seen, want) == nil {
				settled.Reset(quiet)
			} else {
				settled.Reset(time.Until(deadline))
			}
		case <-settled.C:
			if err := complete(c, seen, want); err != nil {
				t.Fatalf("no full config from %s within %s: %v", addr, timeout, err)
			}
			cfg.Resources = map[string]map[string]proto.Message{}
			for _, typ := range []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType} {
				cfg.Resources[typ] = c.Resources(typ)
			}
			return cfg
		}
	}
}

// complete says why the client does not hold a full config yet.
func complete(c *adsc.Client, seen map[string]bool, want []string) error {
	for _, typ := range []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType} {
		if !seen[typ] {
			return fmt.Errorf("nothing accepted of %s", typ)
		}
	}
	clusters, endpoints := c.Resources(resourcev3.ClusterType), c.Resources(resourcev3.EndpointType)
	for _, name := range want {
		cl, ok := clusters[name].(*clusterv3.Cluster)
		if !ok {
			return fmt.Errorf("no cluster %s", name)
		}
		if cl.GetType() == clusterv3.Cluster_EDS {
			if _, ok := endpoints[edsName(cl)]; !ok {
				return fmt.Errorf("no endpoints for cluster %s", name)
			}
		}
	}
	return nil
}

func edsName(cl *clusterv3.Cluster) string {
	if n := cl.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return cl.GetName()
}

// Names are the names of the resources of a type, sorted.
func (c XDSConfig) Names(typeURL string) []string {
	return slices.Sorted(maps.Keys(c.Resources[typeURL]))
}

// EndpointAddresses are the addresses (ip:port) of a cluster's endpoints, sorted.
func (c XDSConfig) EndpointAddresses(cluster string) []string {
	cl, ok := c.Resources[resourcev3.ClusterType][cluster].(*clusterv3.Cluster)
	if !ok {
		return nil
	}
	cla, ok := c.Resources[resourcev3.EndpointType][edsName(cl)].(*endpointv3.ClusterLoadAssignment)
	if !ok {
		return nil
	}
	var out []string
	for _, l := range cla.GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			out = append(out, fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()))
		}
	}
	slices.Sort(out)
	return out
}
