// Package pilot wires minipilot together: model sources, the xDS server, the gRPC and HTTP listeners,
// and the debug endpoints. cmd/pilot-discovery turns flags into a Config and calls Run.
package pilot

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/minipilot/minipilot/adapters/kube"
)

// Config is everything pilot-discovery is told on its command line.
type Config struct {
	ConfigDir string
	// GRPCAddr is plaintext xDS; empty picks the default (PlaintextAddr), "off" serves none.
	GRPCAddr     string
	HTTPAddr     string
	DomainSuffix string
	// Debounce is the quiet period after a change before a push; DebounceMax caps the wait.
	Debounce    time.Duration
	DebounceMax time.Duration
	// EndpointDebounce and EndpointDebounceMax are the same for a change to endpoints alone, which
	// takes the fast path.
	EndpointDebounce    time.Duration
	EndpointDebounceMax time.Duration
	LogLevel            string
	// LogFormat is "json" (zap's production encoding) or "console" (for people).
	LogFormat string
	// ShutdownGrace is how long open streams get to finish on shutdown.
	ShutdownGrace time.Duration
	// MaxConnectionAge closes each xDS connection after about that long (MaxConnectionAgeGrace later
	// at the latest), so that proxies rebalance across replicas.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration

	// Kubeconfig (or InCluster) names the primary Kubernetes cluster: its services and endpoints and
	// its networking.istio.io routing rules are served.
	Kubeconfig string
	InCluster  bool
	// ClusterName names the primary cluster; by default the kubeconfig's current context.
	ClusterName string
	// WatchNamespaces narrows what is watched in every cluster; empty watches all namespaces.
	WatchNamespaces []string
	// RemoteKubeconfigs add the services and endpoints of other clusters: "name=path" or a path.
	RemoteKubeconfigs []string
	// LeaderElectionNamespace holds the Lease that picks the replica writing rule statuses; empty
	// is pilot's own namespace (LeaseNamespace).
	LeaderElectionNamespace string

	Security SecurityConfig
	// MeshConfigFile is Istio's MeshConfig YAML (istiod's --meshConfig), watched. Without it, in
	// Kubernetes, the "mesh" key of MeshConfigMap in MeshConfigNamespace is read, as istiod does.
	MeshConfigFile      string
	MeshConfigMap       string
	MeshConfigNamespace string
}

// BindFlags declares the flags on fs, with their defaults, and returns the Config they fill in.
func BindFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.ConfigDir, "config-dir", "", "directory of Kubernetes-style YAML manifests (Services, EndpointSlices, Endpoints, Pods, Nodes, VirtualServices, DestinationRules, ServiceEntries, Gateways, Sidecars) to serve and watch")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "", "address for plaintext, unauthenticated xDS over gRPC (ADS), for development; \"off\" serves none (default \""+plaintextAll+"\", or \""+plaintextLoopback+"\" with a Kubernetes source)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:15014", "address for the debug endpoints, metrics, health checks and REST xDS")
	fs.StringVar(&c.DomainSuffix, "domain-suffix", "cluster.local", "the cluster's DNS domain")
	fs.DurationVar(&c.Debounce, "debounce", 100*time.Millisecond, "quiet period after a config change before it is pushed")
	fs.DurationVar(&c.DebounceMax, "debounce-max", time.Second, "longest a change waits for a quiet period before it is pushed anyway")
	fs.DurationVar(&c.EndpointDebounce, "endpoint-debounce", 10*time.Millisecond, "quiet period after a change to endpoints alone (pods scaling, rolling, failing readiness) before it is pushed")
	fs.DurationVar(&c.EndpointDebounceMax, "endpoint-debounce-max", 100*time.Millisecond, "longest a change to endpoints alone waits for a quiet period")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json (one object a line, for collectors) or console (for people)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 5*time.Second, "on SIGTERM, open xDS streams keep being served and are closed one by one over this long, so proxies move to other replicas gradually")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", 30*time.Minute, "close each xDS connection after about this long (±10% jitter) so proxies rebalance across replicas; 0 never")
	fs.DurationVar(&c.MaxConnectionAgeGrace, "max-connection-age-grace", 10*time.Second, "how long an aged connection's streams get before it is closed")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the Kubernetes cluster to serve (services, endpoints and networking.istio.io routing rules)")
	fs.BoolVar(&c.InCluster, "in-cluster", false, "serve the Kubernetes cluster pilot runs in, through its service account")
	fs.StringVar(&c.ClusterName, "cluster-name", "", "name of the cluster given by --kubeconfig or --in-cluster (default: the kubeconfig's current context, or \""+kube.InClusterName+"\" in-cluster)")
	fs.Func("watch-namespaces", "comma-separated namespaces to watch in every cluster (default: all)", func(v string) error {
		c.WatchNamespaces = splitList(v)
		return nil
	})
	fs.Func("remote-kubeconfig", "kubeconfig of another cluster whose services and endpoints join the mesh, as name=path or a path (the cluster is then named after its current context); repeatable or comma-separated", func(v string) error {
		c.RemoteKubeconfigs = append(c.RemoteKubeconfigs, v)
		return nil
	})
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease that elects the replica writing the status of routing rules (default: pilot's own namespace: $POD_NAMESPACE, else the kubeconfig context's, else \"default\")")
	c.Security.bindFlags(fs)
	fs.StringVar(&c.MeshConfigFile, "mesh-config", "", "Istio MeshConfig YAML file (rootNamespace, outboundTrafficPolicy, default exportTo, localityLbSetting, protocolDetectionTimeout, ...), watched; without it, in Kubernetes, the mesh key of the --mesh-configmap ConfigMap")
	fs.StringVar(&c.MeshConfigMap, "mesh-configmap", "istio", "in Kubernetes without --mesh-config: the ConfigMap whose mesh key holds the MeshConfig, watched")
	fs.StringVar(&c.MeshConfigNamespace, "mesh-config-namespace", "istio-system", "namespace of the --mesh-configmap ConfigMap (istiod's own namespace)")
	return c
}

// Kube says whether a primary Kubernetes cluster is configured.
func (c *Config) Kube() bool { return c.Kubeconfig != "" || c.InCluster }

// Validate says what is wrong with a Config, if anything.
func (c *Config) Validate() error {
	var errs []error
	if c.ConfigDir == "" && !c.Kube() {
		errs = append(errs, errors.New("no config source: give --config-dir (a directory of manifests), --kubeconfig or --in-cluster (a Kubernetes cluster), or both"))
	}
	if c.Kubeconfig != "" && c.InCluster {
		errs = append(errs, errors.New("--kubeconfig and --in-cluster both name the primary cluster: give one"))
	}
	if c.Kube() && c.MeshConfigFile == "" && (c.MeshConfigMap == "" || c.MeshConfigNamespace == "") {
		errs = append(errs, errors.New("--mesh-configmap and --mesh-config-namespace must not be empty (or give --mesh-config)"))
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or console", c.LogFormat))
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if _, err := kube.ParseRemoteSpecs(c.RemoteKubeconfigs); err != nil {
		errs = append(errs, err)
	}
	if c.Debounce < 0 || c.DebounceMax < 0 {
		errs = append(errs, errors.New("--debounce and --debounce-max must not be negative"))
	}
	if c.ShutdownGrace < 0 || c.MaxConnectionAge < 0 || c.MaxConnectionAgeGrace < 0 {
		errs = append(errs, errors.New("--shutdown-grace, --max-connection-age and --max-connection-age-grace must not be negative"))
	}
	if c.EndpointDebounce < 0 || c.EndpointDebounceMax < c.EndpointDebounce {
		errs = append(errs, errors.New("--endpoint-debounce must not be negative, and --endpoint-debounce-max must be at least --endpoint-debounce"))
	}
	if c.DebounceMax < c.Debounce {
		errs = append(errs, errors.New("--debounce-max must be at least --debounce"))
	}
	errs = append(errs, c.validateSecurity()...)
	return errors.Join(errs...)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CheckConfigDir says what is wrong with --config-dir on disk: it must be a directory that exists.
// (While pilot runs, a directory that goes away keeps its last config in force instead.)
func (c *Config) CheckConfigDir() error {
	if c.ConfigDir == "" {
		return nil
	}
	info, err := os.Stat(c.ConfigDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--config-dir %s: no such directory", c.ConfigDir)
	case err != nil:
		return fmt.Errorf("--config-dir %s: %v", c.ConfigDir, err)
	case !info.IsDir():
		return fmt.Errorf("--config-dir %s: is a file, not a directory of manifests (give the directory that holds it)", c.ConfigDir)
	}
	return nil
}
