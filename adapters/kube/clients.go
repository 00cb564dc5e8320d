package kube

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// InClusterName is the cluster name used in-cluster when none is given, as Istio's default cluster ID.
const InClusterName = "Kubernetes"

// Cluster is how to reach one Kubernetes cluster.
type Cluster struct {
	Name   string
	Config *rest.Config
}

// RemoteSpec is one --remote-kubeconfig value: "name=path", or a path whose kubeconfig's current
// context names the cluster.
type RemoteSpec struct {
	Name string
	Path string
}

// ParseRemoteSpecs reads --remote-kubeconfig values; each may hold several specs separated by commas.
func ParseRemoteSpecs(values []string) ([]RemoteSpec, error) {
	var out []RemoteSpec
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			var spec RemoteSpec
			// A name never holds a path separator, so "a/b=c" is a path with an "=" in it.
			if name, path, ok := strings.Cut(s, "="); ok && !strings.ContainsRune(name, '/') {
				spec = RemoteSpec{Name: name, Path: path}
				if name == "" {
					return nil, fmt.Errorf("remote kubeconfig %q: empty cluster name before '='", s)
				}
			} else {
				spec.Path = s
			}
			if spec.Path == "" {
				return nil, fmt.Errorf("remote kubeconfig %q: no path", s)
			}
			out = append(out, spec)
		}
	}
	return out, nil
}

// LoadKubeconfig reads a kubeconfig file. The cluster is named name, or else after the kubeconfig's
// current context.
func LoadKubeconfig(path, name string) (Cluster, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return Cluster{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if name == "" {
		raw, err := loader.RawConfig()
		if err != nil {
			return Cluster{}, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		name = raw.CurrentContext
	}
	if name == "" {
		return Cluster{}, fmt.Errorf("kubeconfig %s has no current context to name the cluster after; give a name (name=path)", path)
	}
	return Cluster{Name: name, Config: tune(cfg)}, nil
}

// InCluster is the cluster pilot runs in, through its service account.
func InCluster(name string) (Cluster, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return Cluster{}, fmt.Errorf("in-cluster config: %w", err)
	}
	if name == "" {
		name = InClusterName
	}
	return Cluster{Name: name, Config: tune(cfg)}, nil
}

// tune raises client-go's default rate limit (5 QPS), which a controller writing many statuses after
// a leader change would otherwise queue behind, and asks for built-in kinds as protobuf: the initial
// list of thousands of Pods is what sets pilot's memory high-water mark, and protobuf decodes it with a
// fraction of JSON's garbage. (The dynamic client, which reads the routing CRDs, sets JSON itself: CRDs
// have no protobuf form.)
func tune(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if cfg.ContentType == "" {
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	return rest.AddUserAgent(cfg, "minipilot")
}

// UniqueNames refuses two clusters with one name: their services and endpoints could not be told apart.
func UniqueNames(clusters []Cluster) error {
	seen := map[string]bool{}
	var errs []error
	for _, c := range clusters {
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("cluster name %q is used twice; name remote clusters with name=path", c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}
