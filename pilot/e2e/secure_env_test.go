package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/minipilot/minipilot/adapters/kube/kubeauth"
	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/auth"
)

// servingName is a name the self-signed serving certificate is for by default.
const servingName = "minipilot.istio-system.svc"

// secureMesh is a real API server (service accounts, TokenReview, RBAC) and a pilot serving its
// secure port with a self-signed CA, accepting tokens and client certificates of clientCA.
type secureMesh struct {
	cluster  *kubetest.Cluster
	client   kubernetes.Interface
	pilot    *Pilot
	secure   string // the secure xDS address
	clientCA *auth.CA
	backends []Backend
	dir      string
}

func startSecureMesh(t *testing.T) *secureMesh {
	t.Helper()
	c := kubetest.Start(t)
	m := &secureMesh{cluster: c, client: kubefixture.Client(t, c), dir: t.TempDir(), secure: FreeAddr(t)}
	kubefixture.InstallCRDs(t, c)
	for _, ns := range []string{"default", "istio-system", "team-a"} {
		kubefixture.Namespace(t, m.client, ns)
	}
	for _, sa := range []string{"default/app", "team-a/app", "istio-system/gateway", "default/debugger"} {
		ns, name, _ := strings.Cut(sa, "/")
		m.serviceAccount(t, ns, name)
	}
	// The debug role as the manifests define it, bound to default/debugger.
	kubefixture.Apply(t, c, readRepoFile(t, "examples/kubernetes/20-rbac.yaml"))
	if _, stderr, err := c.Kubectl(t, "create", "clusterrolebinding", "debugger", "--clusterrole=minipilot-debug",
		"--serviceaccount=default:debugger"); err != nil {
		t.Fatalf("binding the debug role: %v: %s", err, stderr)
	}

	var err error
	if m.clientCA, err = auth.NewCA("test-client-ca", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(m.dir, "client-ca.pem"), string(m.clientCA.CertPEM))
	// Services come from files (their backends are on loopback, which the API server refuses);
	// identities, tokens, RBAC and the CA's Secret from the cluster.
	m.backends = []Backend{StartBackend(t, "reviews-v1", "127.0.0.61")}
	config := filepath.Join(m.dir, "config")
	if err := os.Mkdir(config, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(config, "reviews.yaml"), reviewsManifests(m.backends))
	// Visible to its own namespace only.
	writeFile(t, filepath.Join(config, "private.yaml"), `apiVersion: v1
kind: Service
metadata: {name: private, annotations: {networking.istio.io/exportTo: "."}}
spec:
  clusterIP: 10.96.0.70
  ports: [{name: grpc, port: 9080}]
`)
	m.pilot = StartPilotDebugOnAll(t, "--kubeconfig", c.Kubeconfig, "--cluster-name", "east", "--config-dir", config,
		"--self-signed-ca", "--secure-grpc-addr", m.secure, "--client-ca", filepath.Join(m.dir, "client-ca.pem"),
		"--xds-auth-allow", "system:serviceaccount:istio-system:gateway")
	return m
}

func (m *secureMesh) serviceAccount(t *testing.T, ns, name string) {
	t.Helper()
	_, err := m.client.CoreV1().ServiceAccounts(ns).Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("service account %s/%s: %v", ns, name, err)
	}
}

// token mints a token with kubectl create token, as a user (or the kubelet's projection) would.
func (m *secureMesh) token(t *testing.T, ns, name string, audience ...string) string {
	t.Helper()
	args := []string{"create", "token", name, "-n", ns}
	for _, a := range audience {
		args = append(args, "--audience", a)
	}
	out, stderr, err := m.cluster.Kubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl create token: %v: %s", err, stderr)
	}
	return strings.TrimSpace(out)
}

// forgedToken is a token the API server would have issued for a service account, signed with its
// own key, but with the given expiry: the TokenRequest API issues none shorter than ten minutes.
func (m *secureMesh) forgedToken(t *testing.T, ns, name string, exp time.Time) string {
	t.Helper()
	sa, err := m.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(m.cluster.ServiceAccountSigningKey())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	iat := exp.Add(-time.Hour)
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": kubetest.ServiceAccountIssuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": []string{"istio-ca"},
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": exp.Unix(),
		"kubernetes.io": map[string]any{"namespace": ns, "serviceaccount": map[string]string{"name": name, "uid": string(sa.UID)}},
	})
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// clientCert is a certificate for a SPIFFE ID, issued by ca.
func clientCert(t *testing.T, ca *auth.CA, spiffeID string) tls.Certificate {
	t.Helper()
	c, err := ca.Issue(auth.Leaf{URIs: []string{spiffeID}, NotBefore: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

// rootCert is the mesh's root as pilot published it in a namespace.
func (m *secureMesh) rootCert(ns string) ([]byte, error) {
	cm, err := m.client.CoreV1().ConfigMaps(ns).Get(context.Background(), kubeauth.RootCertConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	root := cm.Data[kubeauth.RootCertKey]
	if !strings.Contains(root, "BEGIN CERTIFICATE") {
		return nil, fmt.Errorf("%s/%s has no certificate under %s", ns, kubeauth.RootCertConfigMap, kubeauth.RootCertKey)
	}
	return []byte(root), nil
}

// bearer is per-RPC credentials carrying a token.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

// creds are what an xDS client presents.
type creds struct {
	token string
	cert  *tls.Certificate
	delta bool // speak Delta xDS
}

// ads opens an ADS stream (the project's Envoy-like client) over TLS to the secure port, trusting
// the root published in default, and returns its first response's type or the status it was refused with.
func (m *secureMesh) ads(t *testing.T, cr creds, nodeID string, meta map[string]any) (adsc.Response, error) {
	t.Helper()
	root, err := m.rootCert("default")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	cfg := &tls.Config{RootCAs: pool, ServerName: servingName, MinVersion: tls.VersionTLS12}
	if cr.cert != nil {
		cfg.Certificates = []tls.Certificate{*cr.cert}
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(cfg))}
	if cr.token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(cr.token)))
	}
	conn, err := grpc.NewClient(m.secure, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return firstResponse(conn, adsc.Options{NodeID: nodeID, Metadata: meta, Delta: cr.delta})
}

// firstResponse opens an ADS stream and returns its first response, or the status it was refused
// with.
func firstResponse(conn *grpc.ClientConn, opts adsc.Options) (adsc.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := adsc.Dial(ctx, conn, opts)
	if err != nil {
		return adsc.Response{}, err
	}
	defer c.Close()
	select {
	case resp, ok := <-c.Responses():
		if !ok {
			return adsc.Response{}, c.Err()
		}
		return resp, nil
	case <-ctx.Done():
		return adsc.Response{}, ctx.Err()
	}
}

// wantRefused checks that err is a gRPC status of code whose message has every part of want.
func wantRefused(t *testing.T, what string, err error, code codes.Code, want ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	for _, w := range want {
		if !strings.Contains(st.Message(), w) {
			t.Errorf("%s: message %q does not say %q", what, st.Message(), w)
		}
	}
}

// debugGet fetches a debug path through the guarded listener with a token ("" for none).
func (m *secureMesh) debugGet(t *testing.T, path, token string) (int, string) {
	t.Helper()
	return m.debugDo(t, http.MethodGet, path, token, "")
}

func (m *secureMesh) debugDo(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+m.pilot.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	root, err := kubefixture.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
