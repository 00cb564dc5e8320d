package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/resolver"

	"github.com/minipilot/minipilot/xds/translate"
)

const ratingsTarget = "xds:///ratings.default.svc.cluster.local:9080"

// routingClient is a real proxyless gRPC client of one implementation: it sends n UnaryCalls to an
// xds:/// target, with metadata, and tallies who answered.
type routingClient interface {
	Count(target string, n int, md ...string) Tally
}

// goClient is grpc-go's xDS client: one resolver, so one xDS client and one ADS stream, for every
// target it dials.
type goClient struct {
	t        testing.TB
	ctx      context.Context
	resolver resolver.Builder
	stubs    map[string]testgrpc.TestServiceClient
}

func newGoClient(ctx context.Context, t testing.TB, xdsAddr, nodeName string) *goClient {
	return &goClient{t: t, ctx: ctx, resolver: xdsResolver(t, xdsAddr, nodeName), stubs: map[string]testgrpc.TestServiceClient{}}
}

func (c *goClient) Count(target string, n int, md ...string) Tally {
	stub, ok := c.stubs[target]
	if !ok {
		stub = testgrpc.NewTestServiceClient(xdsConn(c.t, c.resolver, target))
		c.stubs[target] = stub
	}
	return Count(c.ctx, stub, n, md...)
}

// sample reads one of Istio's bookinfo routing samples, as shipped in examples/istio-samples.
func sample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestBookinfoSamplesWithEveryGRPCClient: Istio's bookinfo routing samples, applied unchanged, route
// real RPCs the way Istio's documentation says in each real gRPC implementation at once — grpc-go,
// gRPC's C core (Debian's python3-grpcio 1.51, the core of C++, Python, Ruby and PHP) and gRPC's
// Node.js (grpc-js with grpc-js-xds 1.14), each its own proxyless node — and none refuses a single
// config: no NACK in pilot's syncz, none in the C core's or grpc-js's xds_client log. The C core
// predates the current forms of header matchers and weighted clusters (string_match; sums without
// total_weight), and grpc-js refuses some of the older forms, so this holds only if each client gets
// the form its implementation and version accept.
func TestBookinfoSamplesWithEveryGRPCClient(t *testing.T) {
	reviews := []Backend{
		StartBackend(t, "reviews-v1", "127.0.0.61"),
		StartBackend(t, "reviews-v2", "127.0.0.62"),
		StartBackend(t, "reviews-v3", "127.0.0.63"),
	}
	ratings := []Backend{StartBackend(t, "ratings-v1", "127.0.0.71")}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "services.yaml"), serviceManifests("reviews", "10.96.0.21", reviews)+"---\n"+
		serviceManifests("ratings", "10.96.0.22", ratings))
	writeFile(t, filepath.Join(dir, "destination-rules.yaml"), sample(t, "istio-samples/destination-rule-all.yaml"))
	routingFile := filepath.Join(dir, "routing.yaml")
	writeFile(t, routingFile, sample(t, "istio-samples/virtual-service-reviews-test-v2.yaml"))
	pilot := StartPilot(t, "--config-dir", dir)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	scripted := []*ScriptClient{StartCoreClient(t, pilot.GRPCAddr, "grpc-core"), StartJSClient(t, pilot.GRPCAddr, "grpc-js")}
	clients := []struct {
		name   string
		nodeID string
		client routingClient
	}{{"grpc-go", proxylessNodeID("grpc-go"), newGoClient(ctx, t, pilot.GRPCAddr, "grpc-go")}}
	for _, c := range scripted {
		clients = append(clients, struct {
			name   string
			nodeID string
			client routingClient
		}{strings.ReplaceAll(c.Impl, " ", "-") + "-" + c.Version, c.NodeID, c})
	}
	t.Logf("clients: grpc-go, gRPC C core (grpcio %s) and grpc-js (grpc-js-xds %s)", scripted[0].Version, scripted[1].Version)

	// inForce waits until every client routes as the sample under test says.
	inForce := func(t *testing.T, what string, routed func(c routingClient) error) {
		t.Helper()
		for _, c := range clients {
			Eventually(t, 30*time.Second, what+" in "+c.name, func() error { return routed(c.client) })
		}
	}

	t.Run("request routing: jason to v2, the others to v1", func(t *testing.T) {
		inForce(t, "jason's RPCs on v2", func(c routingClient) error {
			if got := c.Count(reviewsTarget, 10, "end-user", "jason"); got.ByBackend["reviews-v2"] != 10 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		for _, c := range clients {
			if got := c.client.Count(reviewsTarget, 50, "end-user", "jason"); got.ByBackend["reviews-v2"] != 50 {
				t.Errorf("%s: jason should always reach v2, got %s", c.name, got)
			}
			if got := c.client.Count(reviewsTarget, 50, "end-user", "mia"); got.ByBackend["reviews-v1"] != 50 {
				t.Errorf("%s: everyone else should reach v1, got %s", c.name, got)
			}
		}
	})

	t.Run("traffic shifting: 80/20 between v1 and v2", func(t *testing.T) {
		writeFile(t, routingFile, sample(t, "bookinfo/routing.yaml"))
		inForce(t, "some RPCs on v2", func(c routingClient) error {
			if got := c.Count(reviewsTarget, 50); got.ByBackend["reviews-v2"] == 0 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) { assertSplit8020(t, c.client.Count(reviewsTarget, 1000)) })
		}
	})

	t.Run("traffic shifting: 50/50 between v1 and a new cluster, v3", func(t *testing.T) {
		// v3 is a cluster no route used before: it is named first in the warm-up route (weight 1).
		writeFile(t, routingFile, sample(t, "istio-samples/virtual-service-reviews-50-v3.yaml"))
		inForce(t, "some RPCs on v3", func(c routingClient) error {
			if got := c.Count(reviewsTarget, 50); got.ByBackend["reviews-v3"] == 0 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		// The C core and grpc-js log every route config they are sent: each got the warm-up route,
		// and refused nothing.
		for _, c := range scripted {
			if nacks := c.NACKs(); !strings.Contains(c.Logs(), translate.WarmupRouteName) || len(nacks) > 0 {
				t.Errorf("%s should have been sent, and have accepted, the warm-up route %q:\n%s", c.Impl, translate.WarmupRouteName, strings.Join(nacks, "\n"))
			}
		}
		for _, c := range clients {
			// 1,000 draws at p=0.5: mean 500, standard deviation about 16, so 400..600 cannot fail by chance.
			got := c.client.Count(reviewsTarget, 1000)
			if v1 := got.ByBackend["reviews-v1"]; got.Failed > 0 || v1+got.ByBackend["reviews-v3"] != 1000 || v1 < 400 || v1 > 600 {
				t.Errorf("%s: want about 500 on v1 and 500 on v3, got %s", c.name, got)
			}
		}
	})

	t.Run("fault injection: ratings aborts jason's RPCs", func(t *testing.T) {
		writeFile(t, routingFile, sample(t, "istio-samples/virtual-service-ratings-test-abort.yaml"))
		// HTTP 500, as the sample says; gRPC clients map it to UNKNOWN.
		inForce(t, "jason's RPCs aborted", func(c routingClient) error {
			if got := c.Count(ratingsTarget, 5, "end-user", "jason"); got.Codes[codes.Unknown] != 5 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		for _, c := range clients {
			if got := c.client.Count(ratingsTarget, 50, "end-user", "jason"); got.Codes[codes.Unknown] != 50 {
				t.Errorf("%s: a 100%% abort with HTTP 500 should fail all 50 RPCs with UNKNOWN, got %s", c.name, got)
			}
			if got := c.client.Count(ratingsTarget, 50, "end-user", "mia"); got.ByBackend["ratings-v1"] != 50 {
				t.Errorf("%s: everyone else's RPCs should reach ratings v1, got %s", c.name, got)
			}
		}
	})

	t.Run("beyond the samples: a direct response fails its RPCs, an abort without a percentage aborts none", func(t *testing.T) {
		// grpc-js refuses both forms as Envoy reads them: it gets each in a form it reads.
		writeFile(t, routingFile, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    directResponse: {status: 503}
  - match: [{headers: {end-user: {exact: mia}}}]
    fault: {abort: {grpcStatus: INTERNAL}}
    route: [{destination: {host: ratings, subset: v1}}]
  - route: [{destination: {host: ratings, subset: v1}}]
`)
		// pilot sends this route config to every client at once (syncz), but the C core 1.51 has been
		// seen to read it 7 to 22 s later, its ADS stream idle meanwhile: it gets a minute.
		for _, c := range clients {
			Eventually(t, time.Minute, "jason's RPCs failed in "+c.name, func() error {
				if got := c.client.Count(ratingsTarget, 5, "end-user", "jason"); got.Codes[codes.Unavailable] != 5 {
					return fmt.Errorf("got %s", got)
				}
				return nil
			})
		}
		for _, c := range clients {
			if got := c.client.Count(ratingsTarget, 20, "end-user", "mia"); got.ByBackend["ratings-v1"] != 20 {
				t.Errorf("%s: an abort without a percentage should abort none of mia's RPCs, got %s", c.name, got)
			}
		}
	})

	t.Run("no client refused a config", func(t *testing.T) {
		for _, c := range clients {
			assertNoNACK(t, pilot, c.nodeID)
		}
		for _, c := range scripted {
			if nacks := c.NACKs(); len(nacks) > 0 {
				t.Errorf("%s's log records a NACK:\n%s", c.Impl, strings.Join(nacks, "\n"))
			}
		}
	})
}

// assertNoNACK checks pilot's syncz for every stream of a node: none ever refused a version, and each
// type sent is acknowledged (a push still in flight gets a few seconds).
func assertNoNACK(t *testing.T, pilot *Pilot, nodeID string) {
	t.Helper()
	Eventually(t, 10*time.Second, nodeID+" to acknowledge what it was sent", func() error {
		var syncz []struct {
			ID    string `json:"id"`
			Types map[string]struct {
				Sent     struct{ Version string } `json:"sent"`
				Acked    struct{ Version string } `json:"acked"`
				LastNack *struct {
					Version string `json:"version"`
					Message string `json:"message"`
				} `json:"lastNack"`
			} `json:"types"`
		}
		if err := pilot.GetJSON("/debug/syncz", &syncz); err != nil {
			return err
		}
		streams, unacked := 0, []string{}
		for _, st := range syncz {
			if st.ID != nodeID {
				continue
			}
			streams++
			for typ, ts := range st.Types {
				if ts.LastNack != nil {
					t.Errorf("%s refused %s version %s: %s", nodeID, typ, ts.LastNack.Version, ts.LastNack.Message)
				}
				if ts.Sent.Version != ts.Acked.Version {
					unacked = append(unacked, fmt.Sprintf("%s sent %q but acked %q", typ, ts.Sent.Version, ts.Acked.Version))
				}
			}
		}
		switch {
		case t.Failed():
			return nil // a NACK is final: reported above
		case streams == 0:
			return fmt.Errorf("no stream in syncz")
		case len(unacked) > 0:
			return fmt.Errorf("%s", strings.Join(unacked, "; "))
		}
		return nil
	})
}
