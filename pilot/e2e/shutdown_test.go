package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/minipilot/minipilot/xds/adsc"
)

var allTypes = []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType}

// sidecar is an Envoy-like client on its own connection, as every sidecar has.
type sidecar struct {
	*adsc.Client
	conn *grpc.ClientConn
}

func dialSidecar(t *testing.T, ctx context.Context, addr, pod string, delta bool) *sidecar {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := adsc.Dial(ctx, conn, adsc.Options{NodeID: "sidecar~10.1.0.99~" + pod + ".default~default.svc.cluster.local", Delta: delta})
	if err != nil {
		t.Fatal(err)
	}
	return &sidecar{Client: c, conn: conn}
}

// awaitTypes reads responses until one of every type has come; it fails on an empty CDS, LDS or
// RDS response, which would blank an Envoy (over Delta: on any removal, since nothing goes away here).
func awaitTypes(t *testing.T, c *adsc.Client, delta bool, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for len(seen) < len(want) {
		select {
		case r, ok := <-c.Responses():
			if !ok {
				t.Fatalf("stream ended (%v) before %v came", c.Err(), want)
			}
			if r.Err != nil {
				t.Fatalf("%s NACKed: %v", r.TypeURL, r.Err)
			}
			if delta && len(r.Removed) > 0 {
				t.Fatalf("a Delta %s response removed %v", r.TypeURL, r.Removed)
			}
			if !delta && r.TypeURL != resourcev3.EndpointType && len(r.Names) == 0 {
				t.Fatalf("an empty %s response (version %q)", r.TypeURL, r.Version)
			}
			seen[r.TypeURL] = true
		case <-deadline:
			t.Fatalf("timed out waiting for %v; saw %v", want, seen)
		}
	}
}

// TestGracefulShutdownSpreadsStreams: on SIGTERM pilot turns unready at once, keeps serving its
// open streams, and closes them one at a time over --shutdown-grace, then exits.
func TestGracefulShutdownSpreadsStreams(t *testing.T) {
	const grace = 3 * time.Second
	pilot := StartPilot(t, "--config-dir", "../../examples/bookinfo", "--shutdown-grace", grace.String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One of each protocol: the drain treats them alike.
	sidecars := []*sidecar{dialSidecar(t, ctx, pilot.GRPCAddr, "a", false), dialSidecar(t, ctx, pilot.GRPCAddr, "b", true)}
	for i, s := range sidecars {
		awaitTypes(t, s.Client, i == 1, allTypes...)
	}

	var mu sync.Mutex
	closedAt := map[int]time.Time{}
	for i, s := range sidecars {
		go func() {
			for range s.Responses() {
			}
			mu.Lock()
			closedAt[i] = time.Now()
			mu.Unlock()
		}()
	}
	signalled := time.Now()
	pilot.Signal(syscall.SIGTERM)
	Eventually(t, time.Second, "/readyz to say 503", func() error {
		if _, err := pilot.Get("/readyz"); err == nil {
			return errors.New("still ready")
		}
		return nil
	})
	mu.Lock()
	early := len(closedAt)
	mu.Unlock()
	if early != 0 {
		t.Errorf("%d streams closed as soon as pilot turned unready; they should be served until their turn", early)
	}

	pilot.Wait()
	took := time.Since(signalled)
	mu.Lock()
	defer mu.Unlock()
	if len(closedAt) != len(sidecars) {
		t.Fatalf("%d of %d streams were closed before pilot exited", len(closedAt), len(sidecars))
	}
	// Expected: a second apart (the grace split in three). Asserting a third of that keeps the test
	// about the spreading, not about the machine's speed.
	if gap := closedAt[1].Sub(closedAt[0]).Abs(); gap < grace/9 {
		t.Errorf("the streams closed %s apart; the drain should spread them over %s", gap, grace)
	}
	if took > grace+5*time.Second {
		t.Errorf("pilot took %s to exit with a grace of %s", took, grace)
	}
}

// TestRestartNeverBlanksAProxy: an Envoy-like sidecar that reconnects to a restarted pilot is sent
// only its full config: no empty listener, cluster or route set at any point.
func TestRestartNeverBlanksAProxy(t *testing.T) {
	for _, delta := range []bool{false, true} {
		t.Run(map[bool]string{false: "sotw", true: "delta"}[delta], func(t *testing.T) {
			pilot := StartPilot(t, "--config-dir", "../../examples/bookinfo")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := dialSidecar(t, ctx, pilot.GRPCAddr, "productpage", delta)
			awaitTypes(t, s.Client, delta, allTypes...)
			before := holdings(s.Client)

			for round := range 2 {
				pilot.Restart()
				for range s.Responses() { // the old stream ends with the drain
				}
				if err := s.Reconnect(ctx, s.conn); err != nil {
					t.Fatal(err)
				}
				awaitTypes(t, s.Client, delta, resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType)
				if got := holdings(s.Client); got != before {
					t.Errorf("round %d: after the restart the proxy holds %s, before %s", round, got, before)
				}
			}
		})
	}
}

func holdings(c *adsc.Client) string {
	out := ""
	for _, typ := range allTypes {
		out += fmt.Sprintf("%s=%d ", typ[len("type.googleapis.com/envoy.config."):], len(c.Resources(typ)))
	}
	return out
}
