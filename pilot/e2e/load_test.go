package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc/load"
)

// TestLoad runs the load tool small against the real binary: a generated mesh of 100 services, 50
// Envoy-like sidecars, every one of which must get and accept a full config. The timing it prints is
// information (make bench and docs/benchmarks.md report figures); the test asserts correctness only.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := modeltest.WriteManifests(dir, 100, 5); err != nil {
		t.Fatal(err)
	}
	pilot := StartPilot(t, "--config-dir", dir)
	if body, err := pilot.Get("/debug/configz"); err != nil || strings.Contains(string(body), `"reason"`) {
		t.Fatalf("the generated mesh must load without rejections: %v\n%.2000s", err, body)
	}
	res, err := load.Run(context.Background(), load.Options{Addr: pilot.GRPCAddr, Proxies: 50, Namespace: "ns-0", Deadline: time.Minute})
	t.Log(res)
	if err != nil {
		t.Fatal(err)
	}
	if res.NACKs > 0 {
		t.Fatalf("%d NACKs: the generated config must be accepted", res.NACKs)
	}
}
