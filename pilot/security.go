package pilot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/kube/kubeauth"
	"github.com/minipilot/minipilot/xds/auth"
)

const (
	caSecret = "istio-ca-secret" // Istio's name for its self-signed CA
	caTTL    = 10 * 365 * 24 * time.Hour
	// servingTTL is the self-signed serving certificate's lifetime; it is reissued after 2/3 of it.
	servingTTL = 24 * time.Hour
)

// security is what the secure xDS port and the guarded debug endpoints are built from.
type security struct {
	// serverOptions make a gRPC server the secure port; nil when there is none.
	serverOptions []grpc.ServerOption
	// guard authenticates xDS clients (nil without a way to: no cluster and no --client-ca).
	guard *auth.Guard
	// reviewer and authorizer check debug requests; nil without a cluster.
	reviewer   *kubeauth.TokenReviewer
	authorizer *kubeauth.Authorizer
	// tasks keep certificates fresh and the root published.
	tasks []task
}

// newSecurity loads or makes the serving certificate and sets up authentication. client is the
// primary cluster's (nil without one).
func newSecurity(ctx context.Context, cfg *Config, client kubernetes.Interface, reg prometheus.Registerer, clk clock.WithTicker, log *zap.Logger) (*security, error) {
	s := &security{}
	sc := &cfg.Security
	opts := auth.Options{TokenAudiences: sc.TokenAudiences, Allow: sc.XDSAuthAllow, TrustDomain: sc.TrustDomain,
		Log: log.Named("xds-auth"), Metrics: auth.NewMetrics(reg)}
	if client != nil {
		s.reviewer = kubeauth.NewTokenReviewer(client, sc.TrustDomain, clk)
		s.authorizer = kubeauth.NewAuthorizer(client)
		opts.Tokens = s.reviewer.ForAudiences(sc.TokenAudiences)
	}
	if sc.ClientCA != "" {
		roots, err := auth.NewReloading("client CA bundle", []string{sc.ClientCA}, func() (*x509.CertPool, error) { return auth.LoadCABundle(sc.ClientCA) }, log)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		s.tasks = append(s.tasks, task{"client CA reloader", roots.Run})
		opts.Certs = &auth.CertAuthenticator{Roots: roots.Get, TrustDomain: sc.TrustDomain, Now: clk.Now}
	}
	if opts.Tokens != nil || opts.Certs != nil {
		var err error
		if s.guard, err = auth.NewGuard(opts); err != nil {
			return nil, err
		}
	}
	if cfg.SecureAddr() == "" {
		return s, nil
	}
	cert, err := s.servingCert(ctx, cfg, client, clk, log)
	if err != nil {
		return nil, err
	}
	s.serverOptions = []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(auth.ServerTLS(cert))),
		grpc.ChainStreamInterceptor(s.guard.StreamInterceptor()),
		grpc.ChainUnaryInterceptor(s.guard.UnaryInterceptor()),
	}
	return s, nil
}

// servingCert is the secure port's certificate: from files, or issued by the self-signed CA.
func (s *security) servingCert(ctx context.Context, cfg *Config, client kubernetes.Interface, clk clock.WithTicker, log *zap.Logger) (func() *tls.Certificate, error) {
	sc := &cfg.Security
	if sc.TLSCert != "" {
		pair, err := auth.NewReloading("serving certificate", []string{sc.TLSCert, sc.TLSKey},
			func() (*tls.Certificate, error) { return auth.LoadKeyPair(sc.TLSCert, sc.TLSKey) }, log)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
		}
		s.tasks = append(s.tasks, task{"serving certificate reloader", pair.Run})
		return pair.Get, nil
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := kubeauth.LoadOrCreateSecret(sctx, client, sc.Namespace, caSecret, func() (map[string][]byte, error) {
		ca, err := auth.NewCA("minipilot", clk.Now(), caTTL)
		if err != nil {
			return nil, err
		}
		log.Info("made a self-signed CA", zap.String("secret", sc.Namespace+"/"+caSecret))
		return map[string][]byte{kubeauth.CACertKey: ca.CertPEM, kubeauth.CAKeyKey: ca.KeyPEM, kubeauth.RootCertKey: ca.CertPEM}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("--self-signed-ca: %w", err)
	}
	ca, err := auth.ParseCA(data[kubeauth.CACertKey], data[kubeauth.CAKeyKey])
	if err != nil {
		return nil, fmt.Errorf("--self-signed-ca: Secret %s/%s: %w", sc.Namespace, caSecret, err)
	}
	rotating, err := auth.NewRotatingCert(ca, cfg.selfSignedHosts(), servingTTL, clk, log)
	if err != nil {
		return nil, fmt.Errorf("--self-signed-ca: issuing the serving certificate: %w", err)
	}
	publisher := &kubeauth.RootCertPublisher{Client: client, Namespaces: cfg.WatchNamespaces, RootPEM: ca.CertPEM, Log: log.Named("root-cert")}
	s.tasks = append(s.tasks, task{"serving certificate rotation", rotating.Run}, task{"root certificate publisher", publisher.Run})
	return rotating.Get, nil
}
