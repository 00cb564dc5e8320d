package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/xds"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/adapters/kube/kubeauth"
	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/xds/auth"
)

const (
	defaultSidecar = "sidecar~10.0.0.1~app-1.default~default.svc.cluster.local"
	teamAGateway   = "router~10.0.0.2~gw-1.team-a~team-a.svc.cluster.local"
)

// TestSecureXDS: on the secure port every stream proves who it is, by a service-account token the
// real API server reviews or by a client certificate, and may act only for its own namespace;
// grpc-go's xDS client routes real RPCs over it; the root is published to every namespace; the debug
// endpoints on a non-loopback address want a token of a user RBAC allows, and never show secrets.
func TestSecureXDS(t *testing.T) {
	m := startSecureMesh(t)
	t.Run("root published", m.testRootPublished)
	t.Run("refused", m.testRefused)
	t.Run("accepted", m.testAccepted)
	t.Run("a proxy sees what its proven namespace may", m.testVisibility)
	t.Run("grpc-go with a token file", m.testGRPCGoToken)
	proxyless := m.testGRPCGoCertificate(t)
	t.Run("debug", func(t *testing.T) { m.testDebug(t, proxyless) })
}

func (m *secureMesh) testRootPublished(t *testing.T) {
	var root []byte
	Eventually(t, 30*time.Second, "the root in default", func() (err error) { root, err = m.rootCert("default"); return err })
	secret, err := m.client.CoreV1().Secrets("istio-system").Get(context.Background(), "istio-ca-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(secret.Data[kubeauth.CACertKey]) != string(root) {
		t.Error("the published root is not the CA kept in istio-system/istio-ca-secret")
	}
	// A namespace made later gets it; one whose copy is deleted gets it back.
	kubefixture.Namespace(t, m.client, "late")
	if err := m.client.CoreV1().ConfigMaps("team-a").Delete(context.Background(), kubeauth.RootCertConfigMap, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	for _, ns := range []string{"late", "team-a"} {
		Eventually(t, 30*time.Second, "the root in "+ns, func() error {
			got, err := m.rootCert(ns)
			if err == nil && string(got) != string(root) {
				t.Fatalf("%s holds another root", ns)
			}
			return err
		})
	}
	// TLS 1.2 at least.
	if c, err := tls.Dial("tcp", m.secure, &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}); err == nil { //nolint:gosec // the point
		c.Close()
		t.Error("the secure port accepted TLS 1.1")
	}
}

func (m *secureMesh) testRefused(t *testing.T) {
	untrusted, err := auth.NewCA("untrusted", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	untrustedCert := clientCert(t, untrusted, "spiffe://cluster.local/ns/default/sa/app")
	teamA := m.token(t, "team-a", "app", "istio-ca")
	for _, tc := range []struct {
		name string
		cr   creds
		node string
		meta map[string]any
		code codes.Code
		want []string
	}{
		{"no credentials", creds{}, defaultSidecar, nil, codes.Unauthenticated,
			[]string{"no credentials", "audience istio-ca", "spiffe://cluster.local/ns/<namespace>/sa/<service account>"}},
		{"expired token", creds{token: m.forgedToken(t, "default", "app", time.Now().Add(-time.Minute))}, defaultSidecar, nil,
			codes.Unauthenticated, []string{"bearer token", "expired"}},
		{"wrong audience", creds{token: m.token(t, "default", "app", "not-istio")}, defaultSidecar, nil,
			codes.Unauthenticated, []string{"bearer token"}},
		{"certificate of an untrusted CA", creds{cert: &untrustedCert}, defaultSidecar, nil,
			codes.Unauthenticated, []string{"client certificate", "not trusted"}},
		{"token of team-a claiming default", creds{token: teamA}, defaultSidecar, nil,
			codes.PermissionDenied, []string{"spiffe://cluster.local/ns/team-a/sa/app", `claims namespace "default"`}},
		{"token of team-a claiming default, over Delta xDS", creds{token: teamA, delta: true}, defaultSidecar, nil,
			codes.PermissionDenied, []string{`claims namespace "default"`}},
		{"token of team-a claiming default in metadata", creds{token: teamA}, "sidecar~10.0.0.3~app-1.team-a~team-a.svc.cluster.local",
			map[string]any{"NAMESPACE": "default"}, codes.PermissionDenied, []string{`NAMESPACE claims "default"`}},
		{"token of another service account than claimed", creds{token: teamA}, "sidecar~10.0.0.3~app-1.team-a~team-a.svc.cluster.local",
			map[string]any{"SERVICE_ACCOUNT": "db"}, codes.PermissionDenied, []string{`SERVICE_ACCOUNT claims "db"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.ads(t, tc.cr, tc.node, tc.meta)
			wantRefused(t, tc.name, err, tc.code, tc.want...)
		})
	}
	if !strings.Contains(m.pilot.Logs(), "xDS client refused") || !strings.Contains(m.pilot.Logs(), `"identity":"spiffe://cluster.local/ns/team-a/sa/app"`) {
		t.Error("a refused identity is not logged with its claim")
	}
	body, err := m.pilot.Get("/metrics") // open without a token
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`minipilot_xds_auth_refused_total{reason="permission_denied"} 4`, `minipilot_xds_auth_refused_total{reason="no_credentials"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func (m *secureMesh) testAccepted(t *testing.T) {
	cert := clientCert(t, m.clientCA, "spiffe://cluster.local/ns/default/sa/app")
	for _, tc := range []struct {
		name string
		cr   creds
		node string
	}{
		{"token", creds{token: m.token(t, "default", "app", "istio-ca")}, defaultSidecar},
		// The same forgery as the expired token, unexpired: that one failed for its expiry alone.
		{"token, over Delta xDS", creds{token: m.token(t, "default", "app", "istio-ca"), delta: true}, defaultSidecar},
		{"token signed like the expired one", creds{token: m.forgedToken(t, "default", "app", time.Now().Add(time.Hour))}, defaultSidecar},
		{"client certificate", creds{cert: &cert}, defaultSidecar},
		{"allow-listed gateway for another namespace", creds{token: m.token(t, "istio-system", "gateway", "istio-ca")}, teamAGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := m.ads(t, tc.cr, tc.node, nil)
			if err != nil || resp.TypeURL != resourcev3.ClusterType {
				t.Fatalf("got %q, %v; want the clusters", resp.TypeURL, err)
			}
		})
	}
}

// testVisibility: a service exported to its own namespace only reaches the proxies proven to be
// in it; a proxy of another namespace cannot claim its way in (refused above).
func (m *secureMesh) testVisibility(t *testing.T) {
	const private = "outbound|9080||private.default.svc.cluster.local"
	for _, tc := range []struct {
		ns   string
		node string
		want bool
	}{
		{"default", defaultSidecar, true},
		{"team-a", "sidecar~10.0.0.3~app-1.team-a~team-a.svc.cluster.local", false},
	} {
		resp, err := m.ads(t, creds{token: m.token(t, tc.ns, "app", "istio-ca")}, tc.node, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(resp.Names, private); got != tc.want {
			t.Errorf("a proxy of %s has %s: %v, want %v (clusters %v)", tc.ns, private, got, tc.want, resp.Names)
		}
	}
}

// proxylessBootstrap is a gRPC client's bootstrap for the secure port: TLS trusting the published
// root, and either a token file (call credentials) or a client certificate.
func (m *secureMesh) proxylessBootstrap(t *testing.T, nodeID string, tlsConfig, callCreds map[string]any) []byte {
	t.Helper()
	root, err := m.rootCert("default")
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "root-cert.pem")
	writeFile(t, rootFile, string(root))
	tlsConfig["ca_certificate_file"] = rootFile
	_, port, _ := strings.Cut(m.secure, ":")
	server := map[string]any{
		"server_uri":      "localhost:" + port, // a name the serving certificate is for
		"channel_creds":   []any{map[string]any{"type": "tls", "config": tlsConfig}},
		"server_features": []string{"xds_v3"},
	}
	if callCreds != nil {
		server["call_creds"] = []any{callCreds}
	}
	b, err := json.Marshal(map[string]any{"xds_servers": []any{server},
		"node": map[string]any{"id": nodeID, "metadata": map[string]any{"GENERATOR": "grpc"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testGRPCGoToken runs the grpc-demo client, as a user would, with the proxyless bootstrap of the
// Kubernetes example (examples/kubernetes/workload), whose call credentials read a token file
// (gRFC A97); only its file paths and server address are this test's.
func (m *secureMesh) testGRPCGoToken(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "istio-token")
	writeFile(t, tokenFile, m.token(t, "default", "app", "istio-ca"))
	root, err := m.rootCert("default")
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root-cert.pem")
	writeFile(t, rootFile, string(root))
	_, port, _ := strings.Cut(m.secure, ":")
	bootstrap := filepath.Join(dir, "bootstrap.json")
	writeFile(t, bootstrap, strings.NewReplacer(
		"/var/run/secrets/tokens/istio-token", tokenFile, "/var/run/secrets/istio/root-cert.pem", rootFile,
		// A name the serving certificate is for, which resolves here.
		"minipilot.istio-system.svc:15012", "localhost:"+port,
	).Replace(exampleProxylessBootstrap(t)))
	bin := filepath.Join(dir, "client")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/minipilot/minipilot/examples/grpc-demo/client").CombinedOutput(); err != nil {
		t.Fatalf("building the grpc-demo client: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--bootstrap", bootstrap, "--target", reviewsTarget, "--requests", "20")
	cmd.Env = append(os.Environ(), "GRPC_EXPERIMENTAL_XDS_BOOTSTRAP_CALL_CREDS=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reviews-v1") {
		t.Fatalf("grpc-demo client over the secure port: %v\n%s", err, out)
	}
}

// testGRPCGoCertificate routes RPCs with grpc-go's xDS client authenticated by a client
// certificate from files, and returns its node ID; it stays connected until the test ends.
func (m *secureMesh) testGRPCGoCertificate(t *testing.T) string {
	dir := t.TempDir()
	certPEM, keyPEM, err := auth.EncodeKeyPair(ptr(clientCert(t, m.clientCA, "spiffe://cluster.local/ns/default/sa/app")))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(certPEM))
	writeFile(t, filepath.Join(dir, "key.pem"), string(keyPEM))
	node := proxylessNodeID("mtls-client")
	r, err := xds.NewXDSResolverWithConfigForTesting(m.proxylessBootstrap(t, node, map[string]any{
		"certificate_file": filepath.Join(dir, "cert.pem"), "private_key_file": filepath.Join(dir, "key.pem")}, nil))
	if err != nil {
		t.Fatal(err)
	}
	client := testgrpc.NewTestServiceClient(xdsConn(t, r, reviewsTarget)) // connected until the test ends
	t.Run("grpc-go with a client certificate", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		Eventually(t, 30*time.Second, "the first RPC", func() error { return Count(ctx, client, 1).LastError })
		if got := Count(ctx, client, 10); got.ByBackend["reviews-v1"] != 10 {
			t.Fatalf("want 10 RPCs to reviews-v1, got %s", got)
		}
	})
	return node
}

func (m *secureMesh) testDebug(t *testing.T, connected string) {
	debugger := m.token(t, "default", "debugger")
	xdsToken := m.token(t, "default", "app", "istio-ca")
	if code, body := m.debugGet(t, "/debug/syncz", ""); code != 401 || !strings.Contains(body, "minipilot-debug") {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, body := m.debugGet(t, "/debug/syncz", m.token(t, "default", "app")); code != 403 || !strings.Contains(body, "system:serviceaccount:default:app") {
		t.Errorf("a user without the role: %d %s", code, body)
	}
	if code, body := m.debugGet(t, "/debug/syncz", "not-a-token"); code != 401 {
		t.Errorf("a bad token: %d %s", code, body)
	}
	code, body := m.debugGet(t, "/debug/syncz", debugger)
	if code != 200 || !strings.Contains(body, connected) {
		t.Fatalf("the debugger: %d %s", code, body)
	}
	code, authz := m.debugGet(t, "/debug/authz", debugger)
	var who struct{ Streams []auth.Stream }
	if err := json.Unmarshal([]byte(authz), &who); code != 200 || err != nil {
		t.Fatalf("/debug/authz: %d %v %s", code, err, authz)
	}
	if i := slices.IndexFunc(who.Streams, func(s auth.Stream) bool { return s.Node == connected }); i < 0 ||
		who.Streams[i].Identity != "spiffe://cluster.local/ns/default/sa/app" || who.Streams[i].Via != "certificate" {
		t.Errorf("/debug/authz does not show %s as spiffe://cluster.local/ns/default/sa/app by certificate: %s", connected, authz)
	}
	body += authz
	code, dump := m.debugGet(t, "/debug/config_dump?node="+connected, debugger)
	if code != 200 || !strings.Contains(dump, "reviews") {
		t.Fatalf("config_dump: %d %s", code, dump)
	}
	for _, secret := range []string{"PRIVATE KEY", debugger, xdsToken, "Bearer", "BEGIN CERTIFICATE"} {
		if strings.Contains(dump, secret) || strings.Contains(body, secret) {
			t.Errorf("the debug output shows a secret (%.20s…)", secret)
		}
	}
	if code, _ := m.debugGet(t, "/no/such/path", ""); code != 401 {
		t.Errorf("a path not known to be open: %d, want it guarded", code)
	}
	if code, _ := m.debugGet(t, "/debug/pprof/", debugger); code != 404 {
		t.Errorf("/debug/pprof without --enable-profiling: %d", code)
	}
	for _, open := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, _ := m.debugGet(t, open, ""); code != 200 {
			t.Errorf("%s: %d, want it open", open, code)
		}
	}
	// REST xDS on the guarded listener is authenticated and authorized as a stream is.
	req := `{"node": {"id": "` + defaultSidecar + `"}}`
	if code, body := m.debugDo(t, "POST", "/v3/discovery:clusters", "", req); code != 401 {
		t.Errorf("REST xDS without a token: %d %s", code, body)
	}
	if code, body := m.debugDo(t, "POST", "/v3/discovery:clusters", m.token(t, "team-a", "app", "istio-ca"), req); code != 403 {
		t.Errorf("REST xDS for another namespace: %d %s", code, body)
	}
	if code, body := m.debugDo(t, "POST", "/v3/discovery:clusters", xdsToken, req); code != 200 || !strings.Contains(body, "reviews") {
		t.Errorf("REST xDS with a token: %d %s", code, body)
	}
}

// exampleProxylessBootstrap is the bootstrap.json of the proxyless client's ConfigMap in
// examples/kubernetes/workload/grpc-proxyless.yaml.
func exampleProxylessBootstrap(t *testing.T) string {
	t.Helper()
	for _, doc := range strings.Split(readRepoFile(t, "examples/kubernetes/workload/grpc-proxyless.yaml"), "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal([]byte(doc), &cm); err == nil && cm.Kind == "ConfigMap" && cm.Data["bootstrap.json"] != "" {
			return cm.Data["bootstrap.json"]
		}
	}
	t.Fatal("grpc-proxyless.yaml has no ConfigMap with bootstrap.json")
	return ""
}

func ptr[T any](v T) *T { return &v }
