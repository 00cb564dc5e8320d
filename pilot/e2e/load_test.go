package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubemesh"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc/load"
)

// startLoadMesh writes a generated mesh and serves it with the real binary.
func startLoadMesh(t *testing.T, spec modeltest.MeshSpec) (*modeltest.Dir, *Pilot) {
	t.Helper()
	dir := t.TempDir()
	mesh, err := modeltest.WriteDir(dir, spec.Objects())
	if err != nil {
		t.Fatal(err)
	}
	pilot := StartPilot(t, "--config-dir", dir)
	if body, err := pilot.Get("/debug/configz"); err != nil || strings.Contains(string(body), `"reason"`) {
		t.Fatalf("the generated mesh must load without rejections: %v\n%.2000s", err, body)
	}
	return mesh, pilot
}

// TestLoad runs the load tool's full clients against the real binary: a generated mesh of 100
// services, 50 sidecars that decode and validate everything as Envoy does, every one of which must
// get and accept a full config. The timing it prints is information (docs/benchmarks.md reports
// figures); the test asserts correctness only.
func TestLoad(t *testing.T) {
	_, pilot := startLoadMesh(t, modeltest.MeshSpec{Services: 100, Endpoints: 5, Rules: modeltest.RulesEach})
	fleet, res, err := load.Connect(context.Background(), load.Options{Addr: pilot.GRPCAddr, Dial: load.FullDialer,
		Fleet: load.FleetSpec{Proxies: 50, Namespaces: 10, LabelSets: 10}, ConnectTimeout: time.Minute})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	fleet.Close()
	t.Logf("%d/%d configured in %s; dial → full config ACKed: %+v", res.Configured, res.Streams, res.Wall, res.Acked)
	if res.NACKs > 0 {
		t.Fatalf("%d NACKs: the generated config must be accepted", res.NACKs)
	}
}

// TestLoadChurn is the load tool's churn scenarios against the real binary serving a directory: 200
// sidecars over 20 label sets (cheap clients, four of them validating), an endpoint flapping, a
// VirtualService weight flipping, services added. Every change must reach every sidecar, nothing
// may be refused, and an endpoint change must send endpoints only: no cluster, listener or route
// response to anyone.
func TestLoadChurn(t *testing.T) {
	spec := modeltest.MeshSpec{Services: 100, Endpoints: 5, Namespaces: 10, Rules: modeltest.RulesOne}
	mesh, pilot := startLoadMesh(t, spec)
	ctx := context.Background()
	fleet, res, err := load.Connect(ctx, load.Options{Addr: pilot.GRPCAddr, Fleet: load.FleetSpec{Proxies: 200, Namespaces: 10, LabelSets: 20},
		Validating: 4, Server: load.Proc{Root: "/proc", PID: pilot.cmd.Process.Pid}, ConnectTimeout: time.Minute})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	defer fleet.Close()
	report := load.Report{Setup: load.Setup{Sidecars: 200, Namespaces: 10, LabelSets: 20, Client: "cheap", Validating: 4,
		ServerPID: pilot.cmd.Process.Pid}, Connect: res}
	if res.NACKs > 0 {
		t.Errorf("%d NACKs while connecting", res.NACKs)
	}
	for _, name := range []string{load.EndpointFlap, load.VSEdit, load.ServiceAdd} {
		sc, err := load.NewScenario(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := fleet.Churn(ctx, sc, load.ChurnOptions{Writer: mesh, Changes: 2, Settle: 500 * time.Millisecond, Timeout: 20 * time.Second})
		report.Scenarios = append(report.Scenarios, sr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if sr.NACKs > 0 {
			t.Errorf("%s: %d NACKs", name, sr.NACKs)
		}
		for _, ch := range sr.Changes {
			if ch.Converged != ch.Streams {
				t.Errorf("%s change %d (%s): %d of %d sidecars got it", name, ch.Index, ch.What, ch.Converged, ch.Streams)
			}
			if name == load.EndpointFlap && ch.Sent.CDS.Responses+ch.Sent.LDS.Responses+ch.Sent.RDS.Responses > 0 {
				t.Errorf("%s change %d (%s) sent %+v: an endpoint change must send endpoints only", name, ch.Index, ch.What, ch.Sent)
			}
		}
	}
	var text bytes.Buffer
	if err := report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
}

// TestLoadChurnKube runs the churn scenarios against the binary serving a real API server, the mesh
// written by kubemesh as the cluster's controllers would (the set-up an istiod is measured with).
func TestLoadChurnKube(t *testing.T) {
	c := kubetest.Start(t) // first: without the binaries it fails (or skips) on kubetest's terms
	kubefixture.InstallCRDs(t, c)
	kubefixture.Namespace(t, kubefixture.Client(t, c), "istio-system") // the leader election Lease lives there
	spec := modeltest.MeshSpec{Services: 20, Endpoints: 3, Namespaces: 3, Rules: modeltest.RulesOne}
	mesh, err := kubemesh.FromKubeconfig(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mesh.Setup(ctx, spec.NamespaceNames(), spec.Objects()); err != nil {
		t.Fatal(err)
	}
	pilot := StartPilot(t, "--kubeconfig", c.Kubeconfig, "--cluster-name", "east")
	fleet, res, err := load.Connect(ctx, load.Options{Addr: pilot.GRPCAddr, Fleet: load.FleetSpec{Proxies: 30, Namespaces: 3, LabelSets: 6},
		Validating: 2, ConnectTimeout: time.Minute})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	defer fleet.Close()
	for _, name := range []string{load.EndpointFlap, load.VSEdit, load.ServiceAdd} {
		sc, err := load.NewScenario(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := fleet.Churn(ctx, sc, load.ChurnOptions{Writer: mesh, Changes: 2, Settle: 500 * time.Millisecond, Timeout: 20 * time.Second})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if sr.NACKs > 0 || sr.Unconverged > 0 {
			t.Errorf("%s: %d NACKs, %d sidecar-changes missed", name, sr.NACKs, sr.Unconverged)
		}
		t.Logf("%s: change → every sidecar received %s, ACKed %s; sent %+v", name, sr.Received.P99, sr.Acked.P99, sr.Sent)
	}
}
