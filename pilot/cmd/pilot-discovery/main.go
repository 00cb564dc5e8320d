// Command pilot-discovery is minipilot's control plane: it serves Envoy sidecars and proxyless gRPC
// clients over xDS from Kubernetes-style manifests.
//
// Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT), 1 when serving fails, 2 for a usage error
// (an unknown flag, a bad value, no config source).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"

	"github.com/minipilot/minipilot/adapters/kube"
	"github.com/minipilot/minipilot/pilot"
)

const summary = "pilot-discovery (minipilot) serves Envoy sidecars and proxyless gRPC clients over xDS, from a directory of\nKubernetes manifests and/or a Kubernetes cluster (Services, endpoints, Istio's networking.istio.io rules)."

func main() {
	kube.StreamInitialLists() // process-wide, as client-go's feature gates are: before any informer
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pilot-discovery", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, in one line
	cfg := pilot.BindFlags(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			pilot.PrintUsage(stdout, fs, summary)
			return 0
		}
		return usageError(stderr, err)
	}
	if *showVersion {
		fmt.Fprintln(stdout, pilot.VersionLine("pilot-discovery"))
		return 0
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0)))
	}
	if err := errors.Join(cfg.Validate(), cfg.CheckConfigDir()); err != nil {
		return usageError(stderr, err)
	}

	log, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pilot-discovery: %v\n", err)
		return 1
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
	// client-go logs through klog, process-wide; send it through zap too, so every line is structured.
	klog.SetLogger(zapr.NewLogger(log.Named("k8s")))
	log.Info("starting", zap.String("version", pilot.Version()))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pilot.Run(ctx, cfg, log); err != nil {
		log.Error("pilot-discovery failed", zap.Error(err))
		return 1
	}
	return 0
}

// usageError prints each problem on a line of its own, and where to read more.
func usageError(w io.Writer, err error) int {
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		err = fmt.Errorf("unknown flag --%s", name)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "pilot-discovery: %s\n", line)
	}
	fmt.Fprintln(w, "Run 'pilot-discovery --help' for usage.")
	return 2
}

// newLogger builds the zap logger the flags ask for. Stack traces are kept for panics: an expected
// error (an API server away, a namespace missing) is a line, not a page.
func newLogger(cfg *pilot.Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if cfg.LogFormat == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.DisableStacktrace = true
	return zc.Build(zap.AddStacktrace(zapcore.DPanicLevel))
}
