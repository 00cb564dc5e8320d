// Command pilot-discovery is minipilot's control plane: it serves Envoy sidecars and proxyless gRPC
// clients over xDS from Kubernetes-style manifests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"

	"github.com/minipilot/minipilot/pilot"
)

func main() {
	fs := flag.NewFlagSet("pilot-discovery", flag.ExitOnError)
	cfg := pilot.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pilot-discovery: --log-level: %v\n", err)
		os.Exit(2)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(level)
	log, err := zc.Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pilot-discovery: %v\n", err)
		os.Exit(1)
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
	// client-go logs through klog, process-wide; send it through zap too, so every line is structured.
	klog.SetLogger(zapr.NewLogger(log.Named("k8s")))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pilot.Run(ctx, cfg, log); err != nil {
		log.Error("pilot-discovery failed", zap.Error(err))
		os.Exit(1)
	}
}
