package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/minipilot/minipilot/model"
)

// fakeTokens accepts the token "good-<ns>-<sa>".
type fakeTokens struct{}

func (fakeTokens) AuthenticateToken(_ context.Context, token string) (model.Identity, error) {
	parts := strings.Split(token, "-")
	if len(parts) != 3 || parts[0] != "good" {
		return model.Identity{}, errors.New("not a good token")
	}
	return model.Identity{TrustDomain: "cluster.local", Namespace: parts[1], ServiceAccount: parts[2], Via: "token"}, nil
}

func node(t *testing.T, id string, meta map[string]any) *corev3.Node {
	t.Helper()
	m, err := structpb.NewStruct(meta)
	if err != nil {
		t.Fatal(err)
	}
	return &corev3.Node{Id: id, Metadata: m}
}

func TestAuthorize(t *testing.T) {
	g, err := NewGuard(Options{Tokens: fakeTokens{}, TrustDomain: "cluster.local",
		Allow: []string{"system:serviceaccount:istio-system:gateway", "spiffe://cluster.local/ns/tools/sa/dumper"}})
	if err != nil {
		t.Fatal(err)
	}
	a := model.Identity{TrustDomain: "cluster.local", Namespace: "a", ServiceAccount: "app"}
	const inA, inB = "sidecar~10.0.0.1~app-1.a~a.svc.cluster.local", "sidecar~10.0.0.1~app-1.b~b.svc.cluster.local"
	for _, tc := range []struct {
		name string
		id   model.Identity
		node *corev3.Node
		want string // "" allowed
	}{
		{"own namespace", a, node(t, inA, nil), ""},
		{"own namespace and service account", a, node(t, inA, map[string]any{"NAMESPACE": "a", "SERVICE_ACCOUNT": "app"}), ""},
		{"another namespace", a, node(t, inB, nil), `claims namespace "b"`},
		{"another namespace in metadata", a, node(t, inA, map[string]any{"NAMESPACE": "b"}), `NAMESPACE claims "b"`},
		{"another service account", a, node(t, inA, map[string]any{"SERVICE_ACCOUNT": "db"}), `SERVICE_ACCOUNT claims "db"`},
		{"an ID that names no namespace", a, node(t, "envoy-1", nil), "cannot tell which namespace"},
		{"allow-listed by user name", model.Identity{Namespace: "istio-system", ServiceAccount: "gateway"}, node(t, inB, nil), ""},
		{"allow-listed by SPIFFE ID", model.Identity{Namespace: "tools", ServiceAccount: "dumper"}, node(t, inB, nil), ""},
		{"no node yet", a, nil, ""},
	} {
		err := g.Authorize(tc.id, tc.node, "peer")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want PermissionDenied saying %q", tc.name, err, tc.want)
		}
	}
}

func TestAllowListEntries(t *testing.T) {
	for _, bad := range []string{"gateway", "spiffe://other.domain/ns/a/sa/b", "system:serviceaccount:a", "spiffe://cluster.local/a/b"} {
		if _, err := NewGuard(Options{Tokens: fakeTokens{}, TrustDomain: "cluster.local", Allow: []string{bad}}); err == nil {
			t.Errorf("allow-list entry %q accepted", bad)
		}
	}
	if _, err := NewGuard(Options{TrustDomain: "cluster.local"}); err == nil {
		t.Error("a guard with no way to authenticate was made")
	}
}

func TestAuthenticate(t *testing.T) {
	ca, err := NewCA("test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	now := time.Now()
	g, err := NewGuard(Options{Tokens: fakeTokens{}, TokenAudiences: []string{"istio-ca"}, TrustDomain: "cluster.local",
		Certs: &CertAuthenticator{Roots: func() *x509.CertPool { return roots }, TrustDomain: "cluster.local", Now: func() time.Time { return now }}})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(l Leaf) []*x509.Certificate {
		t.Helper()
		if l.TTL == 0 {
			l.NotBefore, l.TTL = now, time.Hour
		}
		c, err := ca.Issue(l)
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{c.Leaf}
	}
	spiffe := "spiffe://cluster.local/ns/a/sa/app"
	for _, tc := range []struct {
		name  string
		token string
		chain []*x509.Certificate
		want  string // "" authenticated as a/app
	}{
		{"token", "good-a-app", nil, ""},
		{"certificate", "", issue(Leaf{URIs: []string{spiffe}}), ""},
		{"a bad token but a good certificate", "bad", issue(Leaf{URIs: []string{spiffe}}), ""},
		{"nothing", "", nil, "no credentials: send a Kubernetes service-account token for audience istio-ca"},
		{"a bad token", "bad", nil, "bearer token: not a good token"},
		{"no SPIFFE ID", "", issue(Leaf{Hosts: []string{"a.example"}}), "exactly one SPIFFE ID"},
		{"two SPIFFE IDs", "", issue(Leaf{URIs: []string{spiffe, "spiffe://cluster.local/ns/b/sa/app"}}), "exactly one SPIFFE ID"},
		{"another trust domain", "", issue(Leaf{URIs: []string{"spiffe://evil.example/ns/a/sa/app"}}), "not in the trust domain"},
		{"a server certificate", "", issue(Leaf{URIs: []string{spiffe}, Server: true}), "not trusted"},
		{"expired", "", issue(Leaf{URIs: []string{spiffe}, NotBefore: now.Add(-2 * time.Hour), TTL: time.Hour}), "not trusted"},
		{"not a workload ID", "", issue(Leaf{URIs: []string{"spiffe://cluster.local/workload/x"}}), "/ns/<namespace>/sa/<service account>"},
	} {
		id, err := g.Authenticate(context.Background(), tc.token, tc.chain)
		switch {
		case tc.want == "" && (err != nil || id.Namespace != "a" || id.ServiceAccount != "app"):
			t.Errorf("%s: got %+v, %v", tc.name, id, err)
		case tc.want != "" && (status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want Unauthenticated saying %q", tc.name, err, tc.want)
		}
	}
}

func TestSPIFFEID(t *testing.T) {
	id, err := model.ParseSPIFFEID("spiffe://cluster.local/ns/a/sa/app")
	if err != nil || id.SPIFFEID() != "spiffe://cluster.local/ns/a/sa/app" {
		t.Fatalf("%+v %v", id, err)
	}
	for _, bad := range []string{"https://cluster.local/ns/a/sa/b", "spiffe:///ns/a/sa/b", "spiffe://td/ns//sa/b", "spiffe://td/ns/a/sa/b/c", "spiffe://td/ns/a/sa/b?x=1"} {
		if _, err := model.ParseSPIFFEID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
