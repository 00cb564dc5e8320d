package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc"
)

// sidecarOptions is one sidecar as both control planes see it: a pod in default that is not one of
// the mesh's endpoints.
var sidecarOptions = adsc.Options{
	NodeID: "sidecar~10.1.0.5~pod.default~default.svc.cluster.local",
	Metadata: map[string]any{
		"NAMESPACE":     "default",
		"ISTIO_VERSION": "1.31.0",
		"CLUSTER_ID":    "Kubernetes",
		"LABELS":        map[string]any{"app": "client"},
	},
}

// TestIstiodServesTheSameMesh runs istiod (bin/istiod, `make istio-bins`; skipped without it) and
// minipilot against one API server holding one mesh, connects the same Envoy-like client to each,
// and checks that each gives it a full config without a NACK and that both name the services'
// clusters alike, with the same endpoints. Everything else that differs is logged, not failed:
// the two are not meant to build the same listeners. Then a Sidecar (Istio's namespace isolation
// and REGISTRY_ONLY egress examples) must scope both alike.
func TestIstiodServesTheSameMesh(t *testing.T) {
	IstioFile(t, "istiod") // skip before paying for an API server
	c := kubetest.Start(t)
	PrepareIstio(t, c)
	mesh := modeltest.MeshSpec{Services: 3, Endpoints: 2, Namespaces: 2, Rules: modeltest.RulesOne}
	ApplyMesh(t, c, mesh)

	istiod := StartIstiod(t, c, IstiodOptions{})
	pilot := StartPilot(t, "--kubeconfig", c.Kubeconfig, "--leader-election-namespace", IstiodNamespace)

	want := meshClusters(mesh)
	const timeout = 60 * time.Second
	fromIstiod := FetchXDSConfig(t, istiod.XDSAddr, sidecarOptions, want, timeout)
	fromPilot := FetchXDSConfig(t, pilot.GRPCAddr, sidecarOptions, want, timeout)

	for name, cfg := range map[string]XDSConfig{"istiod": fromIstiod, "minipilot": fromPilot} {
		if len(cfg.NACKs) > 0 {
			t.Errorf("the client NACKed %d responses from %s:\n%s", len(cfg.NACKs), name, strings.Join(cfg.NACKs, "\n"))
		}
	}

	istiodOut, pilotOut := outbound(fromIstiod.Names(resourcev3.ClusterType)), outbound(fromPilot.Names(resourcev3.ClusterType))
	if !slices.Equal(istiodOut, pilotOut) {
		onlyIstiod, onlyPilot := difference(istiodOut, pilotOut), difference(pilotOut, istiodOut)
		t.Errorf("outbound clusters differ:\nonly istiod: %v\nonly minipilot: %v", onlyIstiod, onlyPilot)
	}
	for _, cluster := range want {
		if got, exp := fromPilot.EndpointAddresses(cluster), fromIstiod.EndpointAddresses(cluster); !slices.Equal(got, exp) {
			t.Errorf("endpoints of %s: minipilot %v, istiod %v", cluster, got, exp)
		}
	}

	logDifferences(t, fromIstiod, fromPilot)

	// Istio's Sidecar and egress examples: the client's namespace imports ns-0 alone, under
	// REGISTRY_ONLY. Both must then send the same outbound clusters (svc-1, in ns-1, gone), both the
	// passthrough and black hole clusters, route configs ending with block_all, and a virtual
	// outbound listener whose catch-all goes to the black hole.
	kubefixture.Apply(t, c, `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["ns-0/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`)
	var scoped []string
	for _, cl := range want {
		if !strings.Contains(cl, "."+mesh.ServiceNamespace(1)+".") {
			scoped = append(scoped, cl)
		}
	}
	scopedFrom := func(name, addr string) XDSConfig {
		var cfg XDSConfig
		Eventually(t, timeout, name+" to apply the Sidecar", func() error {
			cfg = FetchXDSConfig(t, addr, sidecarOptions, scoped, timeout)
			if got := outbound(cfg.Names(resourcev3.ClusterType)); slices.ContainsFunc(got, func(n string) bool { return strings.HasSuffix(n, mesh.Host(1)) }) {
				return fmt.Errorf("%s still sends %s: %v", name, mesh.Host(1), got)
			}
			return nil
		})
		return cfg
	}
	fromIstiod, fromPilot = scopedFrom("istiod", istiod.XDSAddr), scopedFrom("minipilot", pilot.GRPCAddr)
	if i, p := outbound(fromIstiod.Names(resourcev3.ClusterType)), outbound(fromPilot.Names(resourcev3.ClusterType)); !slices.Equal(i, p) {
		t.Errorf("with the Sidecar, outbound clusters differ:\nonly istiod: %v\nonly minipilot: %v", difference(i, p), difference(p, i))
	}
	for name, cfg := range map[string]XDSConfig{"istiod": fromIstiod, "minipilot": fromPilot} {
		for _, cl := range []string{"PassthroughCluster", "BlackHoleCluster"} {
			if _, ok := cfg.Resources[resourcev3.ClusterType][cl]; !ok {
				t.Errorf("%s sends no %s", name, cl)
			}
		}
		rc, _ := cfg.Resources[resourcev3.RouteType][fmt.Sprint(modeltest.Port)].(*routev3.RouteConfiguration)
		if vhs := rc.GetVirtualHosts(); len(vhs) == 0 || vhs[len(vhs)-1].GetName() != "block_all" ||
			vhs[len(vhs)-1].GetRoutes()[0].GetDirectResponse().GetStatus() != 502 {
			t.Errorf("%s: route config %d does not end with block_all (502): %v", name, modeltest.Port, rc)
		}
		vo, _ := cfg.Resources[resourcev3.ListenerType]["virtualOutbound"].(*listenerv3.Listener)
		var chains []string
		for _, fc := range vo.GetFilterChains() {
			chains = append(chains, fc.GetName())
		}
		if !slices.Contains(chains, "virtualOutbound-catchall-tcp") || !slices.Contains(chains, "virtualOutbound-blackhole") {
			t.Errorf("%s: virtualOutbound chains %v, want virtualOutbound-blackhole and virtualOutbound-catchall-tcp", name, chains)
		}
	}
	logDifferences(t, fromIstiod, fromPilot)
}

// logDifferences puts on record what is expected to differ between the two.
func logDifferences(t *testing.T, fromIstiod, fromPilot XDSConfig) {
	t.Helper()
	for _, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType, resourcev3.RouteType} {
		i, p := fromIstiod.Names(typ), fromPilot.Names(typ)
		t.Logf("%s: istiod %d, minipilot %d; only istiod: %v; only minipilot: %v",
			typ[strings.LastIndex(typ, ".")+1:], len(i), len(p), difference(i, p), difference(p, i))
	}
}

// meshClusters are the outbound clusters both must send for a mesh: one per service, and one per
// subset of svc-0's DestinationRule.
func meshClusters(m modeltest.MeshSpec) []string {
	var out []string
	for i := range m.Services {
		out = append(out, fmt.Sprintf("outbound|%d||%s", modeltest.Port, m.Host(i)))
	}
	for _, subset := range []string{"v1", "v2"} {
		out = append(out, fmt.Sprintf("outbound|%d|%s|%s", modeltest.Port, subset, m.Host(0)))
	}
	return out
}

func outbound(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "outbound|") {
			out = append(out, n)
		}
	}
	return out
}

// difference is what a holds that b does not; both sorted.
func difference(a, b []string) []string {
	var out []string
	for _, s := range a {
		if _, found := slices.BinarySearch(b, s); !found {
			out = append(out, s)
		}
	}
	return out
}
