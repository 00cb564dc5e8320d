package load_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc/load"
	"github.com/minipilot/minipilot/xds/server"
)

// serveDir runs the file adapter and the xDS server in process on a directory, as pilot wires them.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	log := zaptest.NewLogger(t)
	store := model.NewStore("cluster.local", time.Now)
	files := file.New(dir, k8s.Options{DomainSuffix: "cluster.local"}, log)
	reg := store.Register("file", files)
	srv := server.New(store, server.Options{Debounce: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Log: log})
	g := srv.GRPCServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = files.Run(ctx, reg, clock.RealClock{}) }()
	go srv.Run(ctx)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() { g.Stop(); cancel(); <-ran })
	deadline := time.Now().Add(10 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the server did not sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return lis.Addr().String()
}

// TestChurnAgainstTheFileAdapter runs every scenario small, in process: each change reaches every
// sidecar, nothing is refused, and the sidecars' clients (cheap and validating) agree.
func TestChurnAgainstTheFileAdapter(t *testing.T) {
	spec := modeltest.MeshSpec{Services: 12, Endpoints: 3, Namespaces: 3, Rules: modeltest.RulesOne}
	dir := t.TempDir()
	mesh, err := modeltest.WriteDir(dir, spec.Objects())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveDir(t, dir)
	ctx := context.Background()
	fleet, res, err := load.Connect(ctx, load.Options{Addr: addr, Fleet: load.FleetSpec{Proxies: 24, Namespaces: 3, LabelSets: 6},
		Validating: 3, ConnectTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	defer fleet.Close()
	if res.Configured != 24 || res.NACKs != 0 || res.Sent.CDS.Responses < 24 {
		t.Fatalf("connecting: %+v", res)
	}
	for _, name := range load.ScenarioNames() {
		sc, err := load.NewScenario(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := fleet.Churn(ctx, sc, load.ChurnOptions{Writer: mesh, Changes: 2, Settle: 300 * time.Millisecond, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sr.NACKs != 0 || sr.Unconverged != 0 || len(sr.Changes) != 2 || sr.Received.Count != 48 {
			t.Errorf("%s: %+v", name, sr)
		}
		for _, ch := range sr.Changes {
			if ch.Acked.Max < ch.Received.Max {
				t.Errorf("%s: a change was ACKed before it was received: %+v", name, ch)
			}
		}
		if name == load.EndpointFlap && (sr.Sent.CDS.Responses+sr.Sent.LDS.Responses+sr.Sent.RDS.Responses != 0 || sr.Sent.EDS.Responses == 0) {
			t.Errorf("an endpoint change sent %+v, want only endpoints", sr.Sent)
		}
	}
	if _, err := modeltest.OpenDir(dir, spec.Objects()); err != nil {
		t.Errorf("every scenario must leave the mesh as it was: %v", err)
	}
}
