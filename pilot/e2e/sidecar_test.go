package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/xds/adsc"
)

// echoManifests is a service whose port declares no protocol (no name prefix, no appProtocol:
// Istio sniffs it) with a backend per version, and a VirtualService routing it by a header.
func echoManifests(backends []Backend) string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  clusterIP: 10.96.0.81
  selector: {app: echo}
  ports: [{name: web, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [echo]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - route: [{destination: {host: echo, subset: v1}}]
`)
	for _, be := range backends {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s, labels: {app: echo, version: %[2]s}}
spec: {containers: [{name: echo, image: echo}]}
status: {podIP: %[3]s}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: web, port: %[4]s}]
endpoints:
- addresses: [%[3]s]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: %[1]s, namespace: default}
`, be.Name, strings.TrimPrefix(be.Name, "echo-"), be.Host(), be.Port())
	}
	return b.String()
}

// billingManifests is a gRPC service in namespace "other".
func billingManifests(be Backend) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: billing, namespace: other}
spec:
  clusterIP: 10.96.0.82
  ports: [{name: grpc, port: 9080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: billing, namespace: other, labels: {kubernetes.io/service-name: billing}}
addressType: IPv4
ports: [{name: grpc, port: %s}]
endpoints:
- addresses: [%s]
  conditions: {ready: true}
`, be.Port(), be.Host())
}

func sidecarManifest(hosts ...string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: [%s]}]
`, `"`+strings.Join(hosts, `", "`)+`"`)
}

// TestSidecarScopeMeshConfigAndProtocolDetection runs pilot-discovery on manifests and a mesh config
// file, with real clients: grpc-go's xDS client is routed by a VirtualService on a port that declares
// no protocol, cannot reach a service its Sidecar does not import and reaches it once the Sidecar
// does; the Envoy-like client (adsc) gets the sniffing listener, the REGISTRY_ONLY catch-all of the
// mesh config file and, after the file changes, ALLOW_ANY's.
func TestSidecarScopeMeshConfigAndProtocolDetection(t *testing.T) {
	echo := []Backend{StartBackend(t, "echo-v1", "127.0.0.91"), StartBackend(t, "echo-v2", "127.0.0.92")}
	billing := StartBackend(t, "billing", "127.0.0.93")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "echo.yaml"), echoManifests(echo))
	writeFile(t, filepath.Join(dir, "billing.yaml"), billingManifests(billing))
	sidecarFile := filepath.Join(dir, "sidecar.yaml")
	writeFile(t, sidecarFile, sidecarManifest("./*"))
	meshFile := filepath.Join(t.TempDir(), "mesh.yaml")
	writeFile(t, meshFile, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\nenableTracing: true\n")
	pilot := StartPilot(t, "--config-dir", dir, "--mesh-config", meshFile)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("grpc-go is routed by the VirtualService on a port without a declared protocol", func(t *testing.T) {
		client := XDSClient(t, pilot.GRPCAddr, "sniff-client", "xds:///echo.default.svc.cluster.local:9080")
		if got := Count(ctx, client, 20); got.ByBackend["echo-v1"] != 20 {
			t.Fatalf("without the header, want v1 only, got %s", got)
		}
		if got := Count(ctx, client, 20, "end-user", "jason"); got.ByBackend["echo-v2"] != 20 {
			t.Fatalf("with end-user: jason, want v2 only, got %s", got)
		}
	})

	t.Run("a service out of the Sidecar's scope is not served until the Sidecar imports it", func(t *testing.T) {
		client := XDSClient(t, pilot.GRPCAddr, "scoped-client", "xds:///billing.other.svc.cluster.local:9080")
		sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
		got := Count(sctx, client, 1)
		scancel()
		if got.Failed != 1 {
			t.Fatalf("billing is outside the Sidecar's scope (./*) but answered: %s", got)
		}
		writeFile(t, sidecarFile, sidecarManifest("./*", "other/billing.other.svc.cluster.local"))
		Eventually(t, 20*time.Second, "billing to answer once imported", func() error {
			if got := Count(ctx, client, 1); got.ByBackend["billing"] != 1 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
	})

	sidecar := adsc.Options{NodeID: "sidecar~10.1.0.99~web-1.default~default.svc.cluster.local"}
	echoCluster := "outbound|9080|v1|echo.default.svc.cluster.local"
	catchAll := func(cfg XDSConfig) string {
		rc, _ := cfg.Resources[resourcev3.RouteType]["9080"].(*routev3.RouteConfiguration)
		vhs := rc.GetVirtualHosts()
		if len(vhs) == 0 {
			return ""
		}
		return vhs[len(vhs)-1].GetName()
	}

	t.Run("the Envoy-like client gets the sniffing listener and the mesh config's REGISTRY_ONLY", func(t *testing.T) {
		cfg := FetchXDSConfig(t, pilot.GRPCAddr, sidecar, []string{echoCluster, "BlackHoleCluster", "PassthroughCluster"}, 30*time.Second)
		if len(cfg.NACKs) > 0 {
			t.Fatalf("NACKs: %v", cfg.NACKs)
		}
		l, _ := cfg.Resources[resourcev3.ListenerType]["10.96.0.81_9080"].(*listenerv3.Listener)
		var filters, protocols []string
		for _, f := range l.GetListenerFilters() {
			filters = append(filters, f.GetName())
		}
		for _, c := range l.GetFilterChains() {
			protocols = append(protocols, c.GetFilterChainMatch().GetApplicationProtocols()...)
		}
		if !slices.Contains(filters, "envoy.filters.listener.http_inspector") || !slices.Equal(protocols, []string{"http/1.1", "h2c"}) {
			t.Fatalf("listener 10.96.0.81_9080 should sniff (http_inspector, a chain for http/1.1 and h2c): filters %v, protocols %v", filters, protocols)
		}
		if got := catchAll(cfg); got != "block_all" {
			t.Fatalf("route 9080 should end with block_all under the mesh's REGISTRY_ONLY, ends with %q", got)
		}
		if slices.Contains(cfg.Names(resourcev3.ClusterType), "outbound|9080||billing.other.svc.cluster.local") == false {
			t.Fatalf("billing is imported now: %v", cfg.Names(resourcev3.ClusterType))
		}
		var mesh struct {
			Source                string   `json:"source"`
			OutboundTrafficPolicy string   `json:"outboundTrafficPolicy"`
			Warnings              []string `json:"warnings"`
		}
		if err := pilot.GetJSON("/debug/mesh", &mesh); err != nil || mesh.Source != meshFile || len(mesh.Warnings) != 1 {
			t.Fatalf("/debug/mesh: %v %+v", err, mesh)
		}
	})

	t.Run("a change to the mesh config file applies; a bad one keeps the last good", func(t *testing.T) {
		writeFile(t, meshFile, "outboundTrafficPolicy: {mode: WHATEVER}\n")
		Eventually(t, 10*time.Second, "the refusal in /debug/configz", func() error {
			body, err := pilot.Get("/debug/configz")
			if err != nil || !strings.Contains(string(body), `\"WHATEVER\" is not ALLOW_ANY or REGISTRY_ONLY`) {
				return fmt.Errorf("%v: %s", err, body)
			}
			return nil
		})
		if got := catchAll(FetchXDSConfig(t, pilot.GRPCAddr, sidecar, []string{echoCluster}, 30*time.Second)); got != "block_all" {
			t.Fatalf("a refused mesh config must keep the last good one (block_all), got %q", got)
		}
		writeFile(t, meshFile, "outboundTrafficPolicy: {mode: ALLOW_ANY}\n")
		Eventually(t, 10*time.Second, "allow_any", func() error {
			if got := catchAll(FetchXDSConfig(t, pilot.GRPCAddr, sidecar, []string{echoCluster}, 30*time.Second)); got != "allow_any" {
				return fmt.Errorf("route 9080 ends with %q", got)
			}
			return nil
		})
	})
}
