package kubetest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ServiceCIDR is the ClusterIP range handed to kube-apiserver. Nothing routes
// it (there is no kube-proxy); it only has to be a valid private range that
// does not overlap the host's own routes (kubeadm's default).
const ServiceCIDR = "10.96.0.0/16"

// apiserverArgs runs kube-apiserver the way a real control plane would, minus
// anything needing other components: no kubelet client certs, no aggregator
// front-proxy, no cloud provider.
func apiserverArgs(dir, etcdURL string, port int, cred credentials) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The `kubernetes` Service is still created, but without endpoints:
		// Endpoints validation rejects the loopback advertise address, and
		// the reconciler would log that error every 10s. No other Service
		// gets endpoints here either (there is no endpoint controller).
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		// A self-signed serving cert (for 127.0.0.1) and its CA are generated
		// here on first start and reused by restarts.
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--token-auth-file=" + cred.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + cred.saPub,
		"--service-account-signing-key-file=" + cred.saKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--allow-privileged=true",
	}
}

// waitAPIServerReady polls /readyz (which includes every post-start hook, so
// bootstrap RBAC and priority-and-fairness objects exist) until it succeeds or
// the process dies.
func waitAPIServerReady(p *process, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return permanent(err)
	}
	return poll(apiserverStartTimeout, "kube-apiserver /readyz", func() error {
		if err := p.exited(); err != nil {
			return permanent(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
}
