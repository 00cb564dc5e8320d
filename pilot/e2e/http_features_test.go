package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// featureRouting is the reviews VirtualService with the given http routes, after a marker route: an
// RPC with "x-config: <name>" matches it, and, as a direct response, it fails in a gRPC client with
// UNAVAILABLE "...supported route action...". That tells the test when the client has the config.
func featureRouting(name, routes string) string {
	return reviewsSubsets + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: marker
    match: [{headers: {x-config: {exact: ` + name + `}}}]
    directResponse: {status: 200}
` + routes
}

// unary makes one UnaryCall with the given metadata; it returns the backend that answered.
func unary(ctx context.Context, c testgrpc.TestServiceClient, md ...string) (string, error) {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, md...), 5*time.Second)
	defer cancel()
	resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	return resp.GetHostname(), err
}

// codeCount sends n RPCs and counts them by status code.
func codeCount(ctx context.Context, c testgrpc.TestServiceClient, n int, md ...string) map[codes.Code]int {
	out := map[codes.Code]int{}
	for range n {
		_, err := unary(ctx, c, md...)
		out[status.Code(err)]++
	}
	return out
}

// TestHTTPFeaturesWithGRPCClient: grpc-go's xDS client, through pilot-discovery, obeys VirtualService
// path and header matches, weighted subsets, timeouts, retries, fault injection and delegation, each
// checked by real RPCs to real backends.
func TestHTTPFeaturesWithGRPCClient(t *testing.T) {
	pilot, routingFile, backends := startReviews(t, "127.0.0.4", featureRouting("start", "  - route: [{destination: {host: reviews, subset: v1}}]\n"))
	client := XDSClient(t, pilot.GRPCAddr, "http-features", reviewsTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	apply := func(t *testing.T, name, routes string) {
		t.Helper()
		writeFile(t, routingFile, featureRouting(name, routes))
		Eventually(t, 20*time.Second, "config "+name+" to reach the client", func() error {
			_, err := unary(ctx, client, "x-config", name)
			if status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "route action") {
				return nil
			}
			return fmt.Errorf("the marker route is not in force yet: %v", err)
		})
	}

	t.Run("path matching", func(t *testing.T) {
		apply(t, "paths", `  - match: [{uri: {exact: /grpc.testing.TestService/EmptyCall}}]
    fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v3}}]
  - match: [{uri: {prefix: /grpc.testing.TestService/Unary}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		if got := Count(ctx, client, 50); got.ByBackend["reviews-v2"] != 50 {
			t.Errorf("UnaryCall matches the prefix /grpc.testing.TestService/Unary: want all 50 on v2, got %s", got)
		}
		// EmptyCall is matched by its exact path: the route's abort answers before any backend, which
		// would say UNIMPLEMENTED.
		_, err := client.EmptyCall(ctx, &testgrpc.Empty{})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("EmptyCall should match its exact-path route (abort PERMISSION_DENIED), got %v", err)
		}
	})

	t.Run("header matching", func(t *testing.T) {
		apply(t, "headers", `  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{headers: {x-group: {prefix: beta-}}}, {headers: {x-canary: {regex: "^(yes|true)$"}}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		for _, tc := range []struct {
			md   []string
			want string
		}{
			{[]string{"end-user", "jason"}, "reviews-v2"},
			{[]string{"x-group", "beta-7"}, "reviews-v3"},
			{[]string{"x-canary", "true"}, "reviews-v3"},
			{[]string{"x-group", "gamma"}, "reviews-v1"},
			{[]string{"x-canary", "truest"}, "reviews-v1"},
			{nil, "reviews-v1"},
		} {
			if got := Count(ctx, client, 20, tc.md...); got.ByBackend[tc.want] != 20 {
				t.Errorf("metadata %v: want all 20 on %s, got %s", tc.md, tc.want, got)
			}
		}
	})

	t.Run("weighted subsets", func(t *testing.T) {
		apply(t, "weights", `  - route:
    - {destination: {host: reviews, subset: v1}, weight: 30}
    - {destination: {host: reviews, subset: v3}, weight: 70}
`)
		got := Count(ctx, client, 500)
		// 500 draws at p=0.3: mean 150, standard deviation about 10, so 100..200 cannot fail by chance.
		if got.Failed > 0 || got.ByBackend["reviews-v1"]+got.ByBackend["reviews-v3"] != 500 ||
			got.ByBackend["reviews-v1"] < 100 || got.ByBackend["reviews-v1"] > 200 {
			t.Errorf("want about 150 on v1 and 350 on v3, got %s", got)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		apply(t, "timeout", `  - match: [{headers: {x-timeout: {exact: short}}}]
    timeout: 300ms
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		start := time.Now()
		_, err := unary(ctx, client, "x-timeout", "short", "x-sleep", "2s")
		if took := time.Since(start); status.Code(err) != codes.DeadlineExceeded || took > 1500*time.Millisecond {
			t.Errorf("a 2s call under a 300ms route timeout should fail DEADLINE_EXCEEDED soon, got %v after %s", err, took)
		}
		start = time.Now()
		if _, err := unary(ctx, client, "x-sleep", "600ms"); err != nil || time.Since(start) < 600*time.Millisecond {
			t.Errorf("without the route timeout a 600ms call should succeed, got %v after %s", err, time.Since(start))
		}
	})

	t.Run("retries", func(t *testing.T) {
		apply(t, "retries", `  - match: [{headers: {x-retry: {exact: "yes"}}}]
    retries: {attempts: 3, retryOn: unavailable}
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		v1 := backends[0]
		v1.FailNext(3)
		if got := codeCount(ctx, client, 10, "x-retry", "yes"); got[codes.OK] != 10 {
			t.Errorf("3 failures are within 3 retries: want 10 of 10 RPCs to succeed, got %v", got)
		}
		v1.FailNext(3)
		if got := codeCount(ctx, client, 10); got[codes.Unavailable] != 3 || got[codes.OK] != 7 {
			t.Errorf("without retries the 3 failures reach the client: want 3 UNAVAILABLE and 7 OK, got %v", got)
		}
		v1.FailNext(0)
	})

	t.Run("fault abort", func(t *testing.T) {
		apply(t, "abort", `  - match: [{headers: {x-fault: {exact: all}}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{headers: {x-fault: {exact: half}}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		if got := codeCount(ctx, client, 50, "x-fault", "all"); got[codes.Unavailable] != 50 {
			t.Errorf("a 100%% abort should fail all 50 RPCs with UNAVAILABLE, got %v", got)
		}
		// 400 draws at p=0.5: mean 200, standard deviation 10, so 140..260 cannot fail by chance.
		got := codeCount(ctx, client, 400, "x-fault", "half")
		if got[codes.Unavailable] < 140 || got[codes.Unavailable] > 260 || got[codes.Unavailable]+got[codes.OK] != 400 {
			t.Errorf("a 50%% abort should fail about 200 of 400 RPCs, got %v", got)
		}
		if got := codeCount(ctx, client, 50); got[codes.OK] != 50 {
			t.Errorf("RPCs that match no fault should succeed, got %v", got)
		}
	})

	t.Run("fault delay", func(t *testing.T) {
		apply(t, "delay", `  - match: [{headers: {x-fault: {exact: slow}}}]
    fault: {delay: {fixedDelay: 200ms, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)
		fastest := func(md ...string) time.Duration {
			best := time.Hour
			for range 5 {
				start := time.Now()
				if _, err := unary(ctx, client, md...); err != nil {
					t.Fatalf("RPC failed: %v", err)
				}
				best = min(best, time.Since(start))
			}
			return best
		}
		if d := fastest("x-fault", "slow"); d < 200*time.Millisecond {
			t.Errorf("a 200ms delay at 100%%: the fastest of 5 RPCs took %s", d)
		}
		if d := fastest(); d >= 150*time.Millisecond {
			t.Errorf("without the fault the fastest of 5 RPCs took %s, want well under 200ms", d)
		}
	})

	t.Run("delegate", func(t *testing.T) {
		// The delegate is a VirtualService without hosts in its own file document; its route narrows
		// the delegating route's match.
		apply(t, "delegate", `  - match: [{headers: {x-team: {exact: a}}}]
    delegate: {name: reviews-team-a}
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-team-a}
spec:
  http:
  - match: [{uri: {prefix: /grpc.testing.TestService/Unary}}]
    route: [{destination: {host: reviews, subset: v3}}]
`)
		if got := Count(ctx, client, 20, "x-team", "a"); got.ByBackend["reviews-v3"] != 20 {
			t.Errorf("x-team: a goes through the delegate to v3: want all 20 on v3, got %s", got)
		}
		if got := Count(ctx, client, 20); got.ByBackend["reviews-v1"] != 20 {
			t.Errorf("other RPCs stay on v1: want all 20 on v1, got %s", got)
		}
	})

	t.Run("every config was acknowledged", func(t *testing.T) {
		var syncz []struct {
			Types map[string]struct {
				Sent  struct{ Version string } `json:"sent"`
				Acked struct{ Version string } `json:"acked"`
			} `json:"types"`
		}
		if err := pilot.GetJSON("/debug/syncz", &syncz); err != nil || len(syncz) != 1 || len(syncz[0].Types) < 4 {
			t.Fatalf("want one node with its 4 types in syncz: %v %+v", err, syncz)
		}
		for typ, st := range syncz[0].Types {
			if st.Sent.Version != st.Acked.Version {
				t.Errorf("%s: sent %q but acked %q (a NACK?)", typ, st.Sent.Version, st.Acked.Version)
			}
		}
	})
}
