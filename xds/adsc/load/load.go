// Package load stands many Envoy-like sidecars up against an xDS server and measures how long they
// take to get a complete, accepted config. cmd/xds-load is its command line; its test runs it
// small against a real server.
package load

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/minipilot/minipilot/xds/adsc"
)

// Options say how many sidecars to run and where.
type Options struct {
	Addr      string
	Proxies   int
	Namespace string
	// Deadline bounds the whole run.
	Deadline time.Duration
}

// Result summarizes a run.
type Result struct {
	Proxies int
	// Synced counts the proxies that accepted clusters, endpoints, listeners and routes in time.
	Synced int
	NACKs  int
	// Percentiles of the time from dialing to a complete config.
	P50, P90, P99, Max time.Duration
	Wall               time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d/%d proxies synced in %s (time to full config: p50 %s, p90 %s, p99 %s, max %s), %d NACKs",
		r.Synced, r.Proxies, r.Wall.Round(time.Millisecond), r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond),
		r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.NACKs)
}

// Run connects the proxies over one gRPC connection each, as real sidecars do, and waits for each
// to accept a full config.
func Run(ctx context.Context, o Options) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	start := time.Now()
	var (
		mu    sync.Mutex
		times []time.Duration
		nacks int
		wg    sync.WaitGroup
	)
	for i := range o.Proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, n, err := syncOne(ctx, o, i)
			mu.Lock()
			defer mu.Unlock()
			nacks += n
			if err == nil {
				times = append(times, took)
			}
		}()
	}
	wg.Wait()
	res := Result{Proxies: o.Proxies, Synced: len(times), NACKs: nacks, Wall: time.Since(start)}
	if len(times) > 0 {
		slices.Sort(times)
		at := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
		res.P50, res.P90, res.P99, res.Max = at(0.5), at(0.9), at(0.99), times[len(times)-1]
	}
	if res.Synced < res.Proxies {
		return res, fmt.Errorf("%d of %d proxies did not get a full config within %s", res.Proxies-res.Synced, res.Proxies, o.Deadline)
	}
	return res, nil
}

func syncOne(ctx context.Context, o Options, i int) (time.Duration, int, error) {
	start := time.Now()
	conn, err := grpc.NewClient(o.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	id := fmt.Sprintf("sidecar~10.%d.%d.%d~load-%d.%s~%s.svc.cluster.local", i/65536%256, i/256%256, i%256, i, o.Namespace, o.Namespace)
	c, err := adsc.Dial(ctx, conn, adsc.Options{NodeID: id})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	seen := map[string]bool{}
	nacks := 0
	for {
		select {
		case r, ok := <-c.Responses():
			if !ok {
				return 0, nacks, fmt.Errorf("%s: stream ended", id)
			}
			if r.Err != nil {
				nacks++
				continue
			}
			seen[r.TypeURL] = true
			if seen[resourcev3.ClusterType] && seen[resourcev3.EndpointType] && seen[resourcev3.ListenerType] && seen[resourcev3.RouteType] {
				return time.Since(start), nacks, nil
			}
		case <-ctx.Done():
			return 0, nacks, ctx.Err()
		}
	}
}
