package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const reviewsTarget = "xds:///reviews.default.svc.cluster.local:9080"

// reviewsManifests is the reviews service of bookinfo with one backend per version; each backend's
// EndpointSlice carries the port it really listens on.
func reviewsManifests(backends []Backend) string {
	return serviceManifests("reviews", "10.96.0.21", backends)
}

// serviceManifests is a gRPC service on port 9080 with one pod per backend, named "<service>-<version>"
// and labelled with its version; each backend's EndpointSlice carries the port it really listens on.
func serviceManifests(service, clusterIP string, backends []Backend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  clusterIP: %[2]s
  selector: {app: %[1]s}
  ports: [{name: grpc, port: 9080}]
`, service, clusterIP)
	for _, be := range backends {
		version := strings.TrimPrefix(be.Name, service+"-")
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s, labels: {app: %[5]s, version: %[2]s}}
spec: {containers: [{name: %[5]s, image: %[5]s}]}
status: {podIP: %[3]s}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s, labels: {kubernetes.io/service-name: %[5]s}}
addressType: IPv4
ports: [{name: grpc, port: %[4]s}]
endpoints:
- addresses: [%[3]s]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: %[1]s, namespace: default}
`, be.Name, version, be.Host(), be.Port(), service)
	}
	return b.String()
}

// reviewsSubsets is the DestinationRule every routing test starts from: a subset per version.
const reviewsSubsets = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
`

func routing(weights string) string {
	return reviewsSubsets + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
` + weights
}

const split8020 = `    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
`

const allToV3 = `    - {destination: {host: reviews, subset: v3}, weight: 100}
`

// startReviews runs a backend per reviews version (on hostPrefix+"1" to "3") and pilot-discovery on
// a directory of their manifests and the given routing rules; it returns pilot, the routing file (to
// edit) and the backends.
func startReviews(t *testing.T, hostPrefix, routingYAML string) (*Pilot, string, []Backend) {
	t.Helper()
	backends := []Backend{
		StartBackend(t, "reviews-v1", hostPrefix+"1"),
		StartBackend(t, "reviews-v2", hostPrefix+"2"),
		StartBackend(t, "reviews-v3", hostPrefix+"3"),
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "reviews.yaml"), reviewsManifests(backends))
	routingFile := filepath.Join(dir, "routing.yaml")
	writeFile(t, routingFile, routingYAML)
	return StartPilot(t, "--config-dir", dir), routingFile, backends
}

// assertSplit8020 checks 1,000 RPCs split 80/20 between v1 and v2: at p=0.8 the standard deviation is
// about 13, so 700..900 cannot fail by chance.
func assertSplit8020(t *testing.T, got Tally) {
	t.Helper()
	if got.Failed > 0 || got.ByBackend["reviews-v1"] < 700 || got.ByBackend["reviews-v1"] > 900 ||
		got.ByBackend["reviews-v1"]+got.ByBackend["reviews-v2"] != 1000 {
		t.Fatalf("want about 800 v1 and 200 v2, got %s", got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors and kubectl-style tools do, so the watcher never reads half a file.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFileAdapterRoutesRealTraffic: grpc-go's xDS client, through pilot-discovery serving a directory,
// sends traffic where the routing rules say: an 80/20 split, a header match, and a live edit of the
// rules that moves traffic without a failed RPC.
func TestFileAdapterRoutesRealTraffic(t *testing.T) {
	pilot, routingFile, _ := startReviews(t, "127.0.0.2", routing(split8020))

	client := XDSClient(t, pilot.GRPCAddr, "productpage-v1", reviewsTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("80/20 split", func(t *testing.T) { assertSplit8020(t, Count(ctx, client, 1000)) })

	t.Run("header match", func(t *testing.T) {
		got := Count(ctx, client, 100, "end-user", "jason")
		if got.ByBackend["reviews-v2"] != 100 {
			t.Fatalf("jason should always reach v2, got %s", got)
		}
	})

	t.Run("a bad edit is refused and changes nothing", func(t *testing.T) {
		bad := strings.Replace(routing(split8020), "weight: 80", "weight: 90", 1) // 90 + 20 != 100
		writeFile(t, routingFile, bad)
		Eventually(t, 10*time.Second, "the rejection to show in /debug/configz", func() error {
			body, err := pilot.Get("/debug/configz")
			if err != nil {
				return err
			}
			if !strings.Contains(string(body), "add up to 110, not 100") || !strings.Contains(string(body), "routing.yaml#2") {
				return fmt.Errorf("no rejection naming the document and the reason in %s", body)
			}
			return nil
		})
		got := Count(ctx, client, 200)
		if got.Failed > 0 || got.ByBackend["reviews-v3"] > 0 || got.ByBackend["reviews-v1"] < 120 {
			t.Fatalf("the last good rule (80/20) should still be in force, got %s", got)
		}
	})

	t.Run("edit moves traffic without failed RPCs", func(t *testing.T) {
		var failed, sent atomic.Int64
		var lastErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // steady traffic while the rules change under it
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tally := Count(ctx, client, 1)
				sent.Add(1)
				if tally.Failed > 0 {
					failed.Add(1)
					lastErr.Store(tally.LastError)
				}
			}
		}()
		writeFile(t, routingFile, routing(allToV3))
		Eventually(t, 20*time.Second, "all traffic to reach v3", func() error {
			if got := Count(ctx, client, 50); got.ByBackend["reviews-v3"] != 50 {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
		close(stop)
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("%d of %d RPCs failed while the rules changed; last error: %v", failed.Load(), sent.Load(), lastErr.Load())
		}
		t.Logf("%d RPCs during the change, none failed", sent.Load())
	})

	t.Run("debug endpoints", func(t *testing.T) {
		var syncz []struct {
			ID        string `json:"id"`
			Proxyless bool   `json:"proxyless"`
			Types     map[string]struct {
				Sent  struct{ Version string } `json:"sent"`
				Acked struct{ Version string } `json:"acked"`
			} `json:"types"`
		}
		if err := pilot.GetJSON("/debug/syncz", &syncz); err != nil {
			t.Fatal(err)
		}
		if len(syncz) != 1 || !syncz[0].Proxyless {
			t.Fatalf("want one proxyless node in syncz, got %+v", syncz)
		}
		for _, typ := range []string{"cds", "eds", "lds", "rds"} {
			st := syncz[0].Types[typ]
			if st.Sent.Version == "" || st.Sent.Version != st.Acked.Version {
				t.Errorf("%s: sent %q but acked %q", typ, st.Sent.Version, st.Acked.Version)
			}
		}
		dump, err := pilot.Get("/debug/config_dump?proxyID=" + syncz[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"outbound|9080|v3|reviews.default.svc.cluster.local", "ClustersConfigDump", "RoutesConfigDump"} {
			if !strings.Contains(string(dump), want) {
				t.Errorf("config dump lacks %q", want)
			}
		}
		registry, err := pilot.Get("/debug/registryz")
		if err != nil || strings.Count(string(registry), `"address": "127.0.0.2`) != 3 {
			t.Errorf("registryz should list the 3 reviews endpoints: %v\n%s", err, registry)
		}
		rest, err := http.Post("http://"+pilot.HTTPAddr+"/v3/discovery:clusters", "application/json",
			strings.NewReader(`{"node": {"id": "sidecar~127.0.0.1~poller.default~default.svc.cluster.local"}}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rest.Body)
		rest.Body.Close()
		if rest.StatusCode != http.StatusOK || !strings.Contains(string(body), "outbound|9080|v3|reviews.default.svc.cluster.local") {
			t.Errorf("REST polling for clusters: %s %s", rest.Status, body)
		}
		metrics, err := pilot.Get("/metrics")
		if err != nil || !strings.Contains(string(metrics), `minipilot_xds_pushes_total{type="rds"}`) ||
			!strings.Contains(string(metrics), "minipilot_xds_convergence_seconds_bucket") {
			t.Errorf("metrics lack pushes or convergence: %v", err)
		}
	})
}
