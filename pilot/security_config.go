package pilot

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
)

const (
	plaintextAll      = ":15010"
	plaintextLoopback = "127.0.0.1:15010"
	secureDefault     = ":15012"
	// off turns a listener off.
	off = "off"
)

// SecurityConfig is how pilot proves who it is and checks who its clients are.
type SecurityConfig struct {
	// SecureGRPCAddr serves xDS over TLS with every stream authenticated; empty picks the default
	// (":15012" once a serving certificate is configured), "off" serves none.
	SecureGRPCAddr string
	// TLSCert and TLSKey are the serving certificate's files, reloaded when they change.
	TLSCert, TLSKey string
	// SelfSignedCA has pilot make a CA (kept in the Secret istio-ca-secret of Namespace), issue its
	// own serving certificate for SelfSignedCAHosts, and publish the root to every namespace.
	SelfSignedCA      bool
	SelfSignedCAHosts []string
	// Namespace is pilot's own namespace.
	Namespace string
	// ClientCA is the CA bundle client certificates must chain to (reloaded when it changes).
	ClientCA    string
	TrustDomain string
	// TokenAudiences are the audiences a service-account token must be for.
	TokenAudiences []string
	// XDSAuthAllow lists identities that may act for any namespace.
	XDSAuthAllow []string
	// EnableProfiling serves /debug/pprof.
	EnableProfiling bool
}

func (s *SecurityConfig) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.SecureGRPCAddr, "secure-grpc-addr", "", "address for xDS over TLS, every stream authenticated by a service-account token or a client certificate; \"off\" serves none (default \""+secureDefault+"\" when --tls-cert or --self-signed-ca gives a serving certificate)")
	fs.StringVar(&s.TLSCert, "tls-cert", "", "PEM serving certificate (chain) of the secure xDS port, reloaded when it changes (cert-manager, a Secret volume)")
	fs.StringVar(&s.TLSKey, "tls-key", "", "PEM private key of --tls-cert, reloaded with it")
	fs.BoolVar(&s.SelfSignedCA, "self-signed-ca", false, "make a CA, keep it in the Secret istio-ca-secret of --namespace (shared by the replicas), serve the secure xDS port with a certificate it issues, and publish its root as the ConfigMap istio-ca-root-cert (key root-cert.pem) in every watched namespace")
	fs.Func("self-signed-ca-hosts", "comma-separated DNS names and IPs the self-signed serving certificate is for (default minipilot.<namespace>.svc, istiod.<namespace>.svc, their .cluster.local forms, localhost)", func(v string) error {
		s.SelfSignedCAHosts = splitList(v)
		return nil
	})
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "istio-system"
	}
	fs.StringVar(&s.Namespace, "namespace", ns, "pilot's own namespace, which holds the self-signed CA's Secret (default $POD_NAMESPACE, else istio-system)")
	fs.StringVar(&s.ClientCA, "client-ca", "", "PEM CA bundle that client certificates (SPIFFE IDs spiffe://<trust-domain>/ns/<ns>/sa/<sa>) must chain to, reloaded when it changes; without it only tokens authenticate")
	fs.StringVar(&s.TrustDomain, "trust-domain", "cluster.local", "the mesh's SPIFFE trust domain")
	s.TokenAudiences = []string{"istio-ca"}
	fs.Func("token-audience", "comma-separated audiences a service-account token must be for (default istio-ca, as Istio's)", func(v string) error {
		s.TokenAudiences = splitList(v)
		return nil
	})
	fs.Func("xds-auth-allow", "identity that may act for proxies of any namespace (a gateway deployed elsewhere, tooling): system:serviceaccount:<ns>:<sa> or spiffe://<trust-domain>/ns/<ns>/sa/<sa>; repeatable or comma-separated", func(v string) error {
		s.XDSAuthAllow = append(s.XDSAuthAllow, splitList(v)...)
		return nil
	})
	fs.BoolVar(&s.EnableProfiling, "enable-profiling", false, "serve Go's profiles at /debug/pprof (guarded like every /debug/ endpoint)")
}

// servingCert says whether a serving certificate is configured.
func (s *SecurityConfig) servingCert() bool { return s.TLSCert != "" || s.SelfSignedCA }

// PlaintextAddr is where plaintext xDS listens ("" for nowhere): by default every interface, but
// only loopback when a Kubernetes cluster is served, as proxies there must use the secure port.
func (c *Config) PlaintextAddr() string {
	switch c.GRPCAddr {
	case off:
		return ""
	case "":
		if c.Kube() {
			return plaintextLoopback
		}
		return plaintextAll
	}
	return c.GRPCAddr
}

// SecureAddr is where TLS xDS listens ("" for nowhere).
func (c *Config) SecureAddr() string {
	switch s := c.Security.SecureGRPCAddr; {
	case s == off || (s == "" && !c.Security.servingCert()):
		return ""
	case s == "":
		return secureDefault
	default:
		return s
	}
}

// selfSignedHosts are the names the self-signed serving certificate is for.
func (c *Config) selfSignedHosts() []string {
	if len(c.Security.SelfSignedCAHosts) > 0 {
		return c.Security.SelfSignedCAHosts
	}
	var hosts []string
	for _, name := range []string{"minipilot", "istiod"} {
		svc := name + "." + c.Security.Namespace + ".svc"
		hosts = append(hosts, svc, svc+"."+c.DomainSuffix)
	}
	return append(hosts, "localhost")
}

func (c *Config) validateSecurity() []error {
	s := &c.Security
	var errs []error
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both"))
	}
	if s.TLSCert != "" && s.SelfSignedCA {
		errs = append(errs, errors.New("--tls-cert and --self-signed-ca both give the serving certificate: give one"))
	}
	if s.SelfSignedCA && !c.Kube() {
		errs = append(errs, errors.New("--self-signed-ca keeps its CA in a Secret: it needs --kubeconfig or --in-cluster"))
	}
	if s.SecureGRPCAddr != "" && s.SecureGRPCAddr != off && !s.servingCert() {
		errs = append(errs, errors.New("--secure-grpc-addr needs a serving certificate: --tls-cert and --tls-key, or --self-signed-ca"))
	}
	if c.SecureAddr() != "" && !c.Kube() && s.ClientCA == "" {
		errs = append(errs, errors.New("the secure xDS port cannot authenticate anyone: service-account tokens need --kubeconfig or --in-cluster, client certificates --client-ca"))
	}
	if c.SecureAddr() == "" && c.PlaintextAddr() == "" {
		errs = append(errs, errors.New("--grpc-addr off and no secure xDS port: pilot would serve no proxy"))
	}
	if len(s.TokenAudiences) == 0 {
		errs = append(errs, errors.New("--token-audience must name at least one audience"))
	}
	if s.SelfSignedCA && s.Namespace == "" {
		errs = append(errs, errors.New("--namespace must not be empty with --self-signed-ca"))
	}
	if !c.Kube() && !isLoopback(c.HTTPAddr) {
		errs = append(errs, fmt.Errorf("--http-addr %s is not a loopback address, so /debug/ needs bearer tokens checked by a Kubernetes API server: give --kubeconfig or --in-cluster, or bind it to 127.0.0.1", c.HTTPAddr))
	}
	return errs
}

// isLoopback says whether a listen address is reachable from this host only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
