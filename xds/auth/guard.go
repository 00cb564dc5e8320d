// Package auth authenticates and authorizes xDS clients on the secure port, as istiod does on
// 15012: every stream proves who it is, with a Kubernetes service-account token (checked by a
// TokenAuthenticator: the API server's TokenReview) or a client certificate whose SPIFFE ID chains
// to a trusted CA, and may then act only for its own namespace: the node it claims must be in it.
package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/minipilot/minipilot/model"
)

// TokenAuthenticator proves a bearer token's identity (kubeauth.TokenReviewer does it with the API
// server's TokenReview).
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (model.Identity, error)
}

// Options configure a Guard.
type Options struct {
	// Tokens checks service-account tokens; nil accepts none.
	Tokens TokenAuthenticator
	// TokenAudiences are the audiences Tokens asks for, named in the refusal message.
	TokenAudiences []string
	// Certs checks client certificates; nil accepts none.
	Certs *CertAuthenticator
	// Allow lists identities that may act for any namespace (gateways deployed in another namespace,
	// tooling): SPIFFE IDs or service-account user names, system:serviceaccount:<ns>:<sa>.
	Allow       []string
	TrustDomain string
	Log         *zap.Logger
	Metrics     *Metrics
	// Now is the clock of Streams' ages; time.Now when nil.
	Now func() time.Time
}

// Guard decides, for every stream, who the client is and whether it may act for the node it claims.
type Guard struct {
	opts    Options
	allow   map[string]bool // "<namespace>/<service account>"
	streams streamSet
}

// NewGuard checks the options; an allow-list entry it cannot read is an error.
func NewGuard(opts Options) (*Guard, error) {
	if opts.Tokens == nil && opts.Certs == nil {
		return nil, errors.New("the secure xDS port needs a way to authenticate clients: a Kubernetes cluster (service-account tokens) or --client-ca (client certificates)")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	g := &Guard{opts: opts, allow: map[string]bool{}, streams: streamSet{nowFor: opts.Now}}
	for _, entry := range opts.Allow {
		id, err := parseAllowed(entry, opts.TrustDomain)
		if err != nil {
			return nil, fmt.Errorf("--xds-auth-allow: %w", err)
		}
		g.allow[id.Namespace+"/"+id.ServiceAccount] = true
	}
	return g, nil
}

func parseAllowed(entry, trustDomain string) (model.Identity, error) {
	if strings.HasPrefix(entry, "spiffe://") {
		id, err := model.ParseSPIFFEID(entry)
		if err == nil && id.TrustDomain != trustDomain {
			err = fmt.Errorf("%q is not in the trust domain %q", entry, trustDomain)
		}
		return id, err
	}
	ns, sa, err := model.ParseServiceAccountUser(entry)
	if err != nil {
		return model.Identity{}, fmt.Errorf("%w (or a SPIFFE ID spiffe://%s/ns/<namespace>/sa/<name>)", err, trustDomain)
	}
	return model.Identity{TrustDomain: trustDomain, Namespace: ns, ServiceAccount: sa}, nil
}

// Authenticate proves who a client is from its bearer token or its certificate chain (leaf first);
// either suffices. The error is an Unauthenticated status saying what was expected or what failed.
func (g *Guard) Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (model.Identity, error) {
	var failures []string
	if token != "" {
		if g.opts.Tokens == nil {
			failures = append(failures, "bearer token: tokens are not accepted here (no Kubernetes cluster to check them)")
		} else if id, err := g.opts.Tokens.AuthenticateToken(ctx, token); err == nil {
			g.opts.Metrics.authenticated.WithLabelValues(id.Via).Inc()
			return id, nil
		} else {
			failures = append(failures, "bearer token: "+err.Error())
		}
	}
	if len(chain) > 0 {
		if g.opts.Certs == nil {
			failures = append(failures, "client certificate: certificates are not accepted here (no --client-ca)")
		} else if id, err := g.opts.Certs.Authenticate(chain); err == nil {
			g.opts.Metrics.authenticated.WithLabelValues(id.Via).Inc()
			return id, nil
		} else {
			failures = append(failures, "client certificate: "+err.Error())
		}
	}
	reason := "invalid"
	if len(failures) == 0 {
		reason = "no_credentials"
		failures = append(failures, "no credentials: "+g.expected())
	}
	g.opts.Metrics.refused.WithLabelValues(reason).Inc()
	return model.Identity{}, status.Error(codes.Unauthenticated, "authentication failed: "+strings.Join(failures, "; "))
}

// expected says what a client must present.
func (g *Guard) expected() string {
	var ways []string
	if g.opts.Tokens != nil {
		ways = append(ways, fmt.Sprintf("a Kubernetes service-account token for audience %s as 'authorization: Bearer <token>' metadata",
			strings.Join(g.opts.TokenAudiences, " or ")))
	}
	if g.opts.Certs != nil {
		ways = append(ways, fmt.Sprintf("a client certificate with the URI SAN spiffe://%s/ns/<namespace>/sa/<service account>, signed by the --client-ca bundle",
			g.opts.TrustDomain))
	}
	return "send " + strings.Join(ways, ", or ")
}

// Authorize says whether an identity may act for the node it claims: the namespace of its node ID
// and of its NAMESPACE metadata must be the identity's, and SERVICE_ACCOUNT (when set) its service
// account, unless the identity is on the allow-list. peer names the client in the log.
func (g *Guard) Authorize(id model.Identity, node *corev3.Node, peer string) error {
	if node.GetId() == "" {
		return nil // nothing claimed yet: the server refuses a stream without a node
	}
	err := g.check(id, node)
	if err == nil {
		return nil
	}
	g.opts.Metrics.refused.WithLabelValues("permission_denied").Inc()
	g.opts.Log.Warn("xDS client refused: its identity may not act for the node it claims",
		zap.String("identity", id.SPIFFEID()), zap.String("via", id.Via), zap.String("node", node.GetId()),
		zap.String("peer", peer), zap.String("reason", err.Error()))
	return status.Errorf(codes.PermissionDenied, "authorization failed: %s: %v", id.SPIFFEID(), err)
}

func (g *Guard) check(id model.Identity, node *corev3.Node) error {
	if g.allow[id.Namespace+"/"+id.ServiceAccount] {
		return nil
	}
	proxy, err := model.ParseNodeID(node.GetId())
	if err != nil {
		return fmt.Errorf("cannot tell which namespace it claims: %w", err)
	}
	meta := node.GetMetadata().GetFields()
	if proxy.Namespace != id.Namespace {
		return fmt.Errorf("node %q claims namespace %q, the identity is in %q", node.GetId(), proxy.Namespace, id.Namespace)
	}
	if ns := meta["NAMESPACE"].GetStringValue(); ns != "" && ns != id.Namespace {
		return fmt.Errorf("metadata NAMESPACE claims %q, the identity is in %q", ns, id.Namespace)
	}
	if sa := meta["SERVICE_ACCOUNT"].GetStringValue(); sa != "" && sa != id.ServiceAccount {
		return fmt.Errorf("metadata SERVICE_ACCOUNT claims %q, the identity is %q", sa, id.ServiceAccount)
	}
	return nil
}
