package pilot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/adapters/meshconfig"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/server"
	"github.com/minipilot/minipilot/xds/translate"
)

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg *Config, log *zap.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	clk := clock.RealClock{}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	store := model.NewStore(cfg.DomainSuffix, clk.Now)
	meshSrc := meshconfig.NewSource(log)
	mesh := meshSource{src: meshSrc, reg: store.Register("meshconfig", meshSrc)}
	// Kubernetes sources first: where a cluster and the files both define a service, the cluster's wins.
	kp, err := kubeSources(ctx, cfg, store, mesh, clk, log)
	if err != nil {
		return err
	}
	sources, status := kp.tasks, kp.status
	sources = append(sources, meshTask(cfg, mesh, clk))
	if cfg.ConfigDir != "" {
		files := file.New(cfg.ConfigDir, k8s.Options{DomainSuffix: cfg.DomainSuffix}, log)
		filesReg := store.Register("file", files)
		sources = append(sources, task{"file adapter", func(ctx context.Context) error { return files.Run(ctx, filesReg, clk) }})
	}
	sec, err := newSecurity(ctx, cfg, kp.primary, registry, clk, log)
	if err != nil {
		return err
	}
	sources = append(sources, sec.tasks...)

	metrics := server.NewMetrics(registry)
	metrics.SetBuild(Version())
	xds := server.New(store, server.Options{
		Debounce: cfg.Debounce, MaxDelay: cfg.DebounceMax, EndpointDebounce: cfg.EndpointDebounce, EndpointMaxDelay: cfg.EndpointDebounceMax, Clock: clk, Log: log, Metrics: metrics,
		Version: Version(), InstanceID: instanceID(),
		Report: func(w translate.Warning) {
			if status != nil {
				status.TranslationWarning(w.Object, w.Message) // an Event on the rule, when it is in the cluster
			}
		},
		ReportRejection: func(w translate.Warning) {
			if status != nil {
				status.ProxyRejected(w.Object, w.Message)
			}
		},
	})
	listeners, err := xdsListeners(cfg, sec, xds)
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		listeners.close()
		return fmt.Errorf("listening for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	var handler http.Handler = (&debugHandlers{store: store, xds: xds, registry: registry, log: log, profiling: cfg.Security.EnableProfiling, guard: sec.guard}).mux()
	if !isLoopback(cfg.HTTPAddr) {
		handler = sec.guardHTTP(handler, log)
	}
	httpServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving", zap.String("grpc", listeners.addr(0)), zap.String("secureGrpc", listeners.addr(1)), zap.String("http", httpLis.Addr().String()),
		zap.Bool("debugGuarded", !isLoopback(cfg.HTTPAddr)), zap.String("configDir", cfg.ConfigDir), zap.Strings("clusters", kp.clusters))
	if addr := cfg.PlaintextAddr(); addr != "" && !isLoopback(addr) && cfg.Kube() {
		log.Warn("plaintext xDS is served on a non-loopback address: whoever reaches it can read the mesh's config; proxies should use the secure port", zap.String("grpc", addr))
	}

	// The sources and the push loop outlive the signal: open streams are served through the drain.
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	g, gctx := errgroup.WithContext(serving)
	for _, src := range sources {
		g.Go(func() error {
			if err := src.run(gctx); err != nil {
				return fmt.Errorf("%s: %w", src.name, err)
			}
			return nil
		})
	}
	g.Go(func() error { xds.Run(gctx); return nil })
	g.Go(func() error { warnIfNothingServed(gctx, clk, store, xds, cfg, log); return nil })
	for _, l := range listeners {
		if l != nil {
			g.Go(func() error { return l.server.Serve(l.lis) })
		}
	}
	g.Go(func() error {
		if err := httpServer.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-ctx.Done(): // SIGTERM
		case <-gctx.Done(): // something failed
		}
		log.Info("shutting down", zap.Duration("grace", cfg.ShutdownGrace))
		shutdown(xds, listeners.servers(), httpServer, cfg.ShutdownGrace)
		stopServing()
		return nil
	})
	return g.Wait()
}

// shutdown turns readiness off, stops accepting connections and streams, closes the open streams
// spread over grace (they are served until then), and then stops the servers.
func shutdown(xds *server.Server, grpcServers []*grpc.Server, h *http.Server, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var stopping sync.WaitGroup
	// GracefulStop closes the listener and tells clients (GOAWAY) to open no new streams here; it
	// returns once Drain has closed the streams.
	for _, g := range grpcServers {
		stopping.Go(g.GracefulStop)
	}
	stopped := make(chan struct{})
	go func() { stopping.Wait(); close(stopped) }()
	xds.Drain(ctx, grace)
	select {
	case <-stopped:
	case <-ctx.Done():
		for _, g := range grpcServers {
			g.Stop()
		}
	}
	hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
	defer hcancel()
	_ = h.Shutdown(hctx)
}

// instanceID names this replica to istioctl: the Pod's name (POD_NAME, as istiod reads it), else the
// host's.
func instanceID() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	host, err := os.Hostname()
	if err != nil {
		return "minipilot"
	}
	return host
}

// warnIfNothingServed says so, once, when the sources have synced and hold no service and no rule:
// a --config-dir of the wrong directory (or one whose files all failed) is otherwise silent.
func warnIfNothingServed(ctx context.Context, clk clock.WithTicker, store *model.Store, xds *server.Server, cfg *Config, log *zap.Logger) {
	tick := clk.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !xds.Ready() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
	}
	snap := store.Current()
	if len(snap.Services) > 0 || len(snap.VirtualServices) > 0 || len(snap.Gateways) > 0 {
		return
	}
	log.Warn("the config sources hold no Service, ServiceEntry, VirtualService or Gateway: proxies will get an empty config",
		zap.String("configDir", cfg.ConfigDir), zap.Bool("kube", cfg.Kube()), zap.Int("rejected", len(snap.Rejections)),
		zap.String("hint", "see /debug/configz for documents that were refused"))
}
