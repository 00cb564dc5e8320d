// Package pilot wires minipilot together: model sources, the xDS server, the gRPC and HTTP listeners,
// and the debug endpoints. cmd/pilot-discovery turns flags into a Config and calls Run.
package pilot

import (
	"errors"
	"flag"
	"time"
)

// Config is everything pilot-discovery is told on its command line.
type Config struct {
	ConfigDir    string
	GRPCAddr     string
	HTTPAddr     string
	DomainSuffix string
	// Debounce is the quiet period after a change before a push; DebounceMax caps the wait.
	Debounce    time.Duration
	DebounceMax time.Duration
	LogLevel    string
	// ShutdownGrace is how long open streams get to finish on shutdown.
	ShutdownGrace time.Duration
}

// BindFlags declares the flags on fs, with their defaults, and returns the Config they fill in.
func BindFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.ConfigDir, "config-dir", "", "directory of Kubernetes-style YAML manifests (Services, EndpointSlices, Endpoints, Pods, Nodes, VirtualServices, DestinationRules, ServiceEntries, Gateways) to serve and watch")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", ":15010", "address for xDS over gRPC (ADS)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:15014", "address for the debug endpoints, metrics, health checks and REST xDS")
	fs.StringVar(&c.DomainSuffix, "domain-suffix", "cluster.local", "the cluster's DNS domain")
	fs.DurationVar(&c.Debounce, "debounce", 100*time.Millisecond, "quiet period after a config change before it is pushed")
	fs.DurationVar(&c.DebounceMax, "debounce-max", time.Second, "longest a change waits for a quiet period before it is pushed anyway")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 5*time.Second, "how long open streams get to finish on shutdown")
	return c
}

// Validate says what is wrong with a Config, if anything.
func (c *Config) Validate() error {
	var errs []error
	if c.ConfigDir == "" {
		errs = append(errs, errors.New("--config-dir is required: a directory of manifests to serve"))
	}
	if c.Debounce < 0 || c.DebounceMax < 0 {
		errs = append(errs, errors.New("--debounce and --debounce-max must not be negative"))
	}
	if c.DebounceMax < c.Debounce {
		errs = append(errs, errors.New("--debounce-max must be at least --debounce"))
	}
	return errors.Join(errs...)
}
