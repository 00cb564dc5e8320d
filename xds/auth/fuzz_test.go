package auth

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/minipilot/minipilot/model"
)

// FuzzAuthorize feeds the guard what a client controls, its node and its authorization header: a
// stream it lets through must claim exactly the identity's namespace and service account.
func FuzzAuthorize(f *testing.F) {
	f.Add("sidecar~10.0.0.1~app-1.a~a.svc.cluster.local", "", "", "Bearer x")
	f.Add("sidecar~10.0.0.1~app-1.b~b.svc.cluster.local", "a", "app", "bearer  y ")
	f.Add("router~1~g.a~a", "b", "", "Basic z")
	f.Add("sidecar~~x~a.svc", "", "db", "")
	g, err := NewGuard(Options{Tokens: fakeTokens{}, TrustDomain: "cluster.local", Allow: []string{"system:serviceaccount:istio-system:gateway"}})
	if err != nil {
		f.Fatal(err)
	}
	id := model.Identity{TrustDomain: "cluster.local", Namespace: "a", ServiceAccount: "app"}
	f.Fuzz(func(t *testing.T, nodeID, namespace, serviceAccount, header string) {
		if tok := BearerToken([]string{header}); tok != strings.TrimSpace(tok) || !strings.Contains(header, tok) {
			t.Fatalf("bearer token %q from %q", tok, header)
		}
		meta := map[string]any{}
		if namespace != "" {
			meta["NAMESPACE"] = namespace
		}
		if serviceAccount != "" {
			meta["SERVICE_ACCOUNT"] = serviceAccount
		}
		m, err := structpb.NewStruct(meta)
		if err != nil {
			t.Skip() // not valid UTF-8: no client can send it
		}
		if g.Authorize(id, &corev3.Node{Id: nodeID, Metadata: m}, "peer") != nil || nodeID == "" {
			return
		}
		proxy, err := model.ParseNodeID(nodeID)
		if err != nil || proxy.Namespace != "a" || (namespace != "" && namespace != "a") || (serviceAccount != "" && serviceAccount != "app") {
			t.Fatalf("let %q (NAMESPACE %q, SERVICE_ACCOUNT %q) act as a/app", nodeID, namespace, serviceAccount)
		}
	})
}
