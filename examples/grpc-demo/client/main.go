// Command client is a proxyless gRPC client: no Envoy, the gRPC library itself speaks xDS to
// minipilot, which sends it the routes, clusters and endpoints for the target it dials. It sends
// --requests calls and counts which backend answered each.
//
//	go run ./examples/grpc-demo/client                          # ≈80% reviews-v1, ≈20% reviews-v2
//	go run ./examples/grpc-demo/client --header end-user=jason  # all reviews-v2
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/xds" // also registers the xDS balancers the received clusters name
)

// nodeID is Istio's node ID format; minipilot takes the client's namespace from it, which decides
// which services it sees and what short names mean.
const nodeID = "sidecar~127.0.0.1~demo-client.default~default.svc.cluster.local"

// headerFlags collects repeated --header name=value values, sent as gRPC metadata (HTTP/2 headers,
// which is what VirtualService header matches see).
type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ",") }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	*h = append(*h, strings.ToLower(name), value)
	return nil
}

func main() {
	xdsAddr := flag.String("xds-addr", "127.0.0.1:15010", "minipilot's xDS address (pilot-discovery --grpc-addr)")
	target := flag.String("target", "xds:///reviews.default.svc.cluster.local:9080", "gRPC target to dial")
	requests := flag.Int("requests", 100, "number of UnaryCalls to send")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline for the whole run, xDS included")
	bootstrapFile := flag.String("bootstrap", "", "xDS bootstrap file to use instead of the plaintext one built for --xds-addr: the secure port's, with TLS and a service-account token (examples/kubernetes/README.md; run with GRPC_EXPERIMENTAL_XDS_BOOTSTRAP_CALL_CREDS=true for its call_creds)")
	var headers headerFlags
	flag.Var(&headers, "header", "name=value metadata to send with every call (repeatable), e.g. end-user=jason")
	flag.Parse()

	config, err := bootstrap(*xdsAddr)
	if *bootstrapFile != "" {
		config, err = os.ReadFile(*bootstrapFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	counts, err := run(config, *target, *requests, *timeout, headers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	printTable(counts, *requests)
}

// bootstrap is the xDS bootstrap, built in memory rather than read from GRPC_XDS_BOOTSTRAP.
func bootstrap(xdsAddr string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      xdsAddr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id":       nodeID,
			"metadata": map[string]any{"GENERATOR": "grpc"}, // ask for proxyless resources
		},
	})
}

func run(config []byte, target string, requests int, timeout time.Duration, headers headerFlags) (map[string]int, error) {
	resolver, err := xds.NewXDSResolverWithConfigForTesting(config)
	if err != nil {
		return nil, fmt.Errorf("xDS resolver: %w", err)
	}
	conn, err := grpc.NewClient(target,
		grpc.WithResolvers(resolver),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if len(headers) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, headers...)
	}
	client := testgrpc.NewTestServiceClient(conn)
	counts := map[string]int{}
	for i := range requests {
		// WaitForReady: the first call waits for xDS to deliver routes and endpoints instead of
		// failing while the channel is still connecting.
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true))
		if err != nil {
			return counts, fmt.Errorf("call %d of %d: %w", i+1, requests, err)
		}
		counts[resp.GetHostname()]++
	}
	return counts, nil
}

func printTable(counts map[string]int, total int) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "BACKEND\tREQUESTS\tSHARE")
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%d\t%.0f%%\n", n, counts[n], 100*float64(counts[n])/float64(total))
	}
	w.Flush()
}
