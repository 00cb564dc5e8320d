package pilot

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/adapters/kube"
	"github.com/minipilot/minipilot/adapters/meshconfig"
	"github.com/minipilot/minipilot/model"
)

// meshSource is the mesh config's model source and its registration.
type meshSource struct {
	src *meshconfig.Source
	reg *model.Registration
}

// meshTask keeps the mesh config on its file; in Kubernetes without a file kubeSources watches the
// ConfigMap instead; with neither, Istio's defaults apply from the start.
func meshTask(cfg *Config, mesh meshSource, clk clock.WithTicker) task {
	return task{"meshconfig", func(ctx context.Context) error {
		switch {
		case cfg.MeshConfigFile != "":
			return mesh.src.RunFile(ctx, cfg.MeshConfigFile, mesh.reg, clk)
		case !cfg.Kube():
			mesh.reg.Synced()
		}
		<-ctx.Done()
		return nil
	}}
}

// task is one long-running part of pilot, run until ctx ends.
type task struct {
	name string
	run  func(ctx context.Context) error
}

// kubeParts are the Kubernetes sources and what else pilot takes from the primary cluster.
type kubeParts struct {
	tasks    []task
	clusters []string
	// status (nil without a primary cluster) writes rule statuses and takes translation warnings.
	status *kube.StatusWriter
	// primary is the primary cluster's client (nil without one): TokenReviews, the CA's Secret.
	primary kubernetes.Interface
}

// kubeSources registers the Kubernetes sources with the store, in merge order: the primary cluster's
// services, its routing rules, then each remote cluster's services. Status writes and Events last as
// long as ctx.
func kubeSources(ctx context.Context, cfg *Config, store *model.Store, mesh meshSource, clk clock.WithTicker, log *zap.Logger) (kubeParts, error) {
	var clusters []kube.Cluster
	if cfg.Kube() {
		var primary kube.Cluster
		var err error
		if cfg.InCluster {
			primary, err = kube.InCluster(cfg.ClusterName)
		} else {
			primary, err = kube.LoadKubeconfig(cfg.Kubeconfig, cfg.ClusterName)
		}
		if err != nil {
			return kubeParts{}, err
		}
		clusters = append(clusters, primary)
	}
	specs, err := kube.ParseRemoteSpecs(cfg.RemoteKubeconfigs)
	if err != nil {
		return kubeParts{}, err
	}
	for _, s := range specs {
		c, err := kube.LoadKubeconfig(s.Path, s.Name)
		if err != nil {
			return kubeParts{}, fmt.Errorf("--remote-kubeconfig: %w", err)
		}
		clusters = append(clusters, c)
	}
	if err := kube.UniqueNames(clusters); err != nil {
		return kubeParts{}, err
	}

	var out kubeParts
	for i, c := range clusters {
		opts := kube.Options{Cluster: c.Name, DomainSuffix: cfg.DomainSuffix, Namespaces: cfg.WatchNamespaces, Log: log, Clock: clk}
		client, err := kubernetes.NewForConfig(c.Config)
		if err != nil {
			return kubeParts{}, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		platform, err := kube.NewPlatform(client, opts)
		if err != nil {
			return kubeParts{}, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		reg := store.Register("kube/"+c.Name, platform)
		out.tasks = append(out.tasks, task{"kube/" + c.Name, func(ctx context.Context) error { return platform.Run(ctx, reg) }})
		out.clusters = append(out.clusters, c.Name)
		if i == 0 && cfg.Kube() {
			out.primary = client
			if cfg.MeshConfigFile == "" {
				out.tasks = append(out.tasks, task{"mesh-configmap", func(ctx context.Context) error {
					return kube.RunMeshConfigMap(ctx, client, cfg.MeshConfigNamespace, cfg.MeshConfigMap, mesh.src, mesh.reg)
				}})
			}
			t, sw, err := configController(ctx, cfg, c, client, opts, store, log)
			if err != nil {
				return kubeParts{}, err
			}
			out.tasks, out.status = append(out.tasks, t...), sw
		}
	}
	return out, nil
}

// configController watches the primary cluster's routing rules; the replica that wins the Lease
// writes their status.
func configController(ctx context.Context, cfg *Config, c kube.Cluster, client kubernetes.Interface, opts kube.Options,
	store *model.Store, log *zap.Logger) ([]task, *kube.StatusWriter, error) {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	recorder, err := kube.StartEventRecorder(ctx, client)
	if err != nil {
		return nil, nil, err
	}
	status := kube.NewStatusWriter(dyn, recorder, opts.Clock, log)
	controller, err := kube.NewConfigController(dyn, status, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	reg := store.Register("kube-config/"+c.Name, controller)

	// Leader election gets its own client with a timeout: a request hanging on an unresponsive API
	// server must not keep the replica from noticing that it lost (or could take) the lease.
	leCfg := rest.CopyConfig(c.Config)
	leCfg.Timeout = 10 * time.Second
	leClient, err := kubernetes.NewForConfig(leCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	election := kube.LeaderElection{Namespace: cfg.LeaseNamespace(os.Getenv), Log: log, Clock: opts.Clock}
	return []task{
		{"kube-config/" + c.Name, func(ctx context.Context) error {
			go warnIfCRDsMissing(client, c.Name, log)
			return controller.Run(ctx, reg)
		}},
		{"leader-election", func(ctx context.Context) error { return election.Run(ctx, leClient, status) }},
	}, status, nil
}

// warnIfCRDsMissing explains why pilot is not getting ready when the routing CRDs are not installed:
// the informers cannot list them, so the config source never syncs.
func warnIfCRDsMissing(client kubernetes.Interface, cluster string, log *zap.Logger) {
	gv := k8s.IstioGroup + "/" + kube.ConfigVersion
	if _, err := client.Discovery().ServerResourcesForGroupVersion(gv); err != nil {
		log.Warn("the routing CRDs do not seem to be served; pilot will not be ready until they are (kubectl apply -f crds/)",
			zap.String("cluster", cluster), zap.String("groupVersion", gv), zap.Error(err))
	}
}
