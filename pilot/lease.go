package pilot

import (
	"os"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
)

// serviceAccountNamespace is where Kubernetes mounts the namespace of a Pod's service account.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// LeaseNamespace is the namespace of the leader-election Lease: --leader-election-namespace, else
// pilot's own namespace: $POD_NAMESPACE (the Downward API, as istiod reads it), in-cluster the
// service account's, else the kubeconfig context's, else "default". A pilot run against a cluster
// without Istio then works out of the box, rather than waiting forever for an istio-system namespace.
func (c *Config) LeaseNamespace(getenv func(string) string) string {
	if c.LeaderElectionNamespace != "" {
		return c.LeaderElectionNamespace
	}
	if ns := getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if c.InCluster {
		if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b))
		}
	}
	if c.Kubeconfig != "" {
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}, &clientcmd.ConfigOverrides{})
		if ns, _, err := loader.Namespace(); err == nil && ns != "" {
			return ns
		}
	}
	return "default"
}
