package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DestinationRule policies, proven with grpc-go's real xDS client against real backends: a
// consistent hash on a header, outlier detection (mapped to gRFC A50 failure-percentage ejection),
// and circuit breaking by http2MaxRequests.

// reviewsRule is a DestinationRule for reviews with the given trafficPolicy (YAML, indented 4).
func reviewsRule(trafficPolicy string) string {
	return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
` + trafficPolicy
}

// policyMesh starts backends on host addresses, serves them and rule from a directory, and returns
// a gRPC client for reviews and the rule file (to rewrite).
func policyMesh(t *testing.T, rule string, hosts ...string) (testgrpc.TestServiceClient, []Backend, string) {
	t.Helper()
	var backends []Backend
	for i, h := range hosts {
		backends = append(backends, StartBackend(t, fmt.Sprintf("reviews-%c", 'a'+i), h))
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "reviews.yaml"), reviewsManifests(backends))
	ruleFile := filepath.Join(dir, "rule.yaml")
	writeFile(t, ruleFile, rule)
	pilot := StartPilot(t, "--config-dir", dir)
	return XDSClient(t, pilot.GRPCAddr, "productpage-v1", reviewsTarget), backends, ruleFile
}

// policyRPC makes one UnaryCall with metadata; it returns the backend that answered.
func policyRPC(ctx context.Context, c testgrpc.TestServiceClient, md ...string) (string, error) {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, md...), 5*time.Second)
	defer cancel()
	resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	return resp.GetHostname(), err
}

// TestConsistentHashRingHash: with consistentHash on a header, every RPC with one header value
// reaches one backend, and different values spread over the backends.
func TestConsistentHashRingHash(t *testing.T) {
	client, _, _ := policyMesh(t, reviewsRule("    loadBalancer:\n      consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}\n"),
		"127.0.0.31", "127.0.0.32", "127.0.0.33")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Warm up: ring hash connects to a backend when a hash first lands on it.
	Eventually(t, 30*time.Second, "every backend to be reachable", func() error {
		seen := map[string]bool{}
		for i := range 60 {
			name, err := policyRPC(ctx, client, "x-user", fmt.Sprintf("warm-%d", i))
			if err != nil {
				return err
			}
			seen[name] = true
		}
		if len(seen) < 3 {
			return fmt.Errorf("only %v answered 60 users", seen)
		}
		return nil
	})
	for _, user := range []string{"jason", "alice", "bob"} {
		byBackend := map[string]int{}
		for range 100 {
			name, err := policyRPC(ctx, client, "x-user", user)
			if err != nil {
				t.Fatalf("user %s: %v", user, err)
			}
			byBackend[name]++
		}
		if len(byBackend) != 1 {
			t.Errorf("user %s reached several backends: %v", user, byBackend)
		}
	}
	spread := map[string]int{}
	for i := range 100 {
		name, err := policyRPC(ctx, client, "x-user", fmt.Sprintf("user-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		spread[name]++
	}
	if len(spread) < 3 {
		t.Errorf("100 different users should reach all 3 backends, got %v", spread)
	}
	t.Logf("100 users spread as %v", spread)
}

// TestOutlierDetectionEjectsFailingBackend: a backend that fails every RPC costs a third of the RPCs
// until outlierDetection is configured; then it is ejected and nearly all RPCs succeed.
func TestOutlierDetectionEjectsFailingBackend(t *testing.T) {
	client, backends, ruleFile := policyMesh(t, reviewsRule("    loadBalancer: {simple: ROUND_ROBIN}\n"),
		"127.0.0.41", "127.0.0.42", "127.0.0.43")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	Eventually(t, 30*time.Second, "the client to reach reviews", func() error {
		_, err := policyRPC(ctx, client)
		return err
	})
	backends[1].FailNext(1 << 40) // every RPC, from now on
	failures := func(n int) (int, error) {
		failed := 0
		for range n {
			if _, err := policyRPC(ctx, client); err != nil {
				if status.Code(err) != codes.Unavailable {
					return 0, fmt.Errorf("want UNAVAILABLE from the failing backend, got %v", err)
				}
				failed++
			}
		}
		return failed, nil
	}
	before, err := failures(150)
	if err != nil {
		t.Fatal(err)
	}
	if before < 30 {
		t.Fatalf("without outlier detection about a third of 150 RPCs should fail (round robin over 3), got %d", before)
	}
	writeFile(t, ruleFile, reviewsRule(`    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 2m, maxEjectionPercent: 50}
`))
	// Warm-up: the client needs the rule, then one interval with enough failed RPCs to eject.
	Eventually(t, 30*time.Second, "the failing backend to be ejected", func() error {
		if n, err := failures(50); err != nil || n > 1 {
			return fmt.Errorf("%d of 50 RPCs failed (%v)", n, err)
		}
		return nil
	})
	after, err := failures(100)
	if err != nil {
		t.Fatal(err)
	}
	if after > 2 {
		t.Fatalf("after ejection nearly all RPCs should succeed, %d of 100 failed", after)
	}
	t.Logf("failed RPCs: %d of 150 before outlier detection, %d of 100 after", before, after)
}

// TestCircuitBreakerMaxRequests: with http2MaxRequests 1 and a slow backend, RPCs beyond the first
// in flight fail at once with UNAVAILABLE instead of queueing.
func TestCircuitBreakerMaxRequests(t *testing.T) {
	client, _, _ := policyMesh(t, reviewsRule("    connectionPool:\n      http: {http2MaxRequests: 1}\n"), "127.0.0.51")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	Eventually(t, 30*time.Second, "the client to reach reviews", func() error {
		_, err := policyRPC(ctx, client)
		return err
	})
	const concurrent = 5
	type result struct {
		err  error
		took time.Duration
	}
	results := make([]result, concurrent)
	var wg sync.WaitGroup
	slow := make(chan struct{})
	go func() { // the first RPC takes the one slot for a second
		defer close(slow)
		_, err := policyRPC(ctx, client, "x-sleep", "1s")
		if err != nil {
			t.Errorf("the RPC within the limit failed: %v", err)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	for i := range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := policyRPC(ctx, client, "x-sleep", "1s")
			results[i] = result{err: err, took: time.Since(start)}
		}()
	}
	wg.Wait()
	<-slow
	for i, r := range results {
		if status.Code(r.err) != codes.Unavailable || r.took > 500*time.Millisecond {
			t.Errorf("RPC %d beyond the limit: want UNAVAILABLE at once, got %v after %s", i, r.err, r.took)
		}
	}
	t.Logf("first over-limit RPC: %v", results[0].err)
	// Once the slot is free, RPCs go through again.
	if _, err := policyRPC(ctx, client); err != nil {
		t.Errorf("after the slow RPC: %v", err)
	}
}
