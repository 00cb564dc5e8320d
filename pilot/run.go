package pilot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
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
	// Kubernetes sources first: where a cluster and the files both define a service, the cluster's wins.
	sources, clusters, status, err := kubeSources(ctx, cfg, store, clk, log)
	if err != nil {
		return err
	}
	if cfg.ConfigDir != "" {
		files := file.New(cfg.ConfigDir, k8s.Options{DomainSuffix: cfg.DomainSuffix}, log)
		filesReg := store.Register("file", files)
		sources = append(sources, task{"file adapter", func(ctx context.Context) error { return files.Run(ctx, filesReg, clk) }})
	}

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
	})
	grpcServer := grpc.NewServer(
		grpc.MaxConcurrentStreams(100000),
		// Envoy pings every 5 minutes by default and more often when told to; allow it, as Istio does.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: 30 * time.Second, Timeout: 10 * time.Second,
			// Connections are closed after an age (gRPC adds ±10% jitter), so that proxies spread over
			// the replicas again after a rollout or a scale-up, as Istio's chart does.
			MaxConnectionAge: cfg.MaxConnectionAge, MaxConnectionAgeGrace: cfg.MaxConnectionAgeGrace,
		}),
	)
	xds.Register(grpcServer)

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listening for xDS on %s: %w", cfg.GRPCAddr, err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listening for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	httpServer := &http.Server{
		Handler:           (&debugHandlers{store: store, xds: xds, registry: registry, log: log}).mux(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Info("serving", zap.String("grpc", grpcLis.Addr().String()), zap.String("http", httpLis.Addr().String()),
		zap.String("configDir", cfg.ConfigDir), zap.Strings("clusters", clusters))

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
	g.Go(func() error { return grpcServer.Serve(grpcLis) })
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
		shutdown(xds, grpcServer, httpServer, cfg.ShutdownGrace)
		stopServing()
		return nil
	})
	return g.Wait()
}

// shutdown turns readiness off, stops accepting connections and streams, closes the open streams
// spread over grace (they are served until then), and then stops the servers.
func shutdown(xds *server.Server, g *grpc.Server, h *http.Server, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	stopped := make(chan struct{})
	// GracefulStop closes the listener and tells clients (GOAWAY) to open no new streams here; it
	// returns once Drain has closed the streams.
	go func() { g.GracefulStop(); close(stopped) }()
	xds.Drain(ctx, grace)
	select {
	case <-stopped:
	case <-ctx.Done():
		g.Stop()
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
