package pilot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/minipilot/minipilot/xds/auth"
)

// debugRole is the ClusterRole (examples/kubernetes/20-rbac.yaml) that grants the debug endpoints:
// nonResourceURLs ["/debug/*"], verb get.
const debugRole = "minipilot-debug"

// maxRESTBody bounds the REST xDS body read for its node, as the server bounds it.
const maxRESTBody = 1 << 20

// openPaths are served to anyone: probes and scrapers carry no token.
var openPaths = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// guardHTTP protects the debug listener when it is not on loopback: /debug/* needs a bearer token
// the API server authenticates (TokenReview) of a user it allows to get that path
// (SubjectAccessReview); REST xDS (/v3/discovery:*) is authenticated and authorized as a stream on
// the secure port is. /metrics, /healthz and /readyz stay open, for probes and scrapers.
func (s *security) guardHTTP(next http.Handler, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		var msg string
		switch {
		case openPaths[r.URL.Path]:
		case strings.HasPrefix(r.URL.Path, "/v3/"):
			code, msg = s.allowREST(r)
		default: // /debug/*, and anything else: what is not known to be open is guarded
			code, msg = s.allowDebug(r)
		}
		if code != 0 {
			log.Info("debug request refused", zap.String("path", r.URL.Path), zap.String("peer", r.RemoteAddr), zap.Int("code", code), zap.String("reason", msg))
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="minipilot"`)
			}
			writeJSONError(w, code, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *security) allowDebug(r *http.Request) (int, string) {
	token := auth.BearerToken(r.Header.Values("Authorization"))
	if token == "" {
		return http.StatusUnauthorized, "send 'Authorization: Bearer <token>' with the token of a user granted the ClusterRole " + debugRole + " (kubectl create token <service account>)"
	}
	user, err := s.reviewer.Review(r.Context(), token, nil)
	if err != nil {
		return http.StatusUnauthorized, err.Error()
	}
	ok, reason, err := s.authorizer.AllowedPath(r.Context(), user, "get", r.URL.Path)
	switch {
	case err != nil:
		return http.StatusServiceUnavailable, err.Error()
	case !ok:
		msg := "user " + user.Username + " may not get " + r.URL.Path + ": grant it the ClusterRole " + debugRole
		if reason != "" {
			msg += " (" + reason + ")"
		}
		return http.StatusForbidden, msg
	}
	return 0, ""
}

func (s *security) allowREST(r *http.Request) (int, string) {
	if s.guard == nil {
		return http.StatusUnauthorized, "REST xDS on this address needs authentication, and no way to authenticate is configured"
	}
	token := auth.BearerToken(r.Header.Values("Authorization"))
	id, err := s.guard.Authenticate(r.Context(), token, nil)
	if err != nil {
		return httpCode(err), status.Convert(err).Message()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil {
		return http.StatusBadRequest, "reading the body: " + err.Error()
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // the server reads it again
	req := &discoveryv3.DiscoveryRequest{}
	if err := protojson.Unmarshal(body, req); err != nil {
		return 0, "" // the server refuses it with the reason
	}
	if req.GetNode().GetId() == "" {
		return http.StatusBadRequest, "the request must name its node"
	}
	if err := s.guard.Authorize(id, req.GetNode(), r.RemoteAddr); err != nil {
		return httpCode(err), status.Convert(err).Message()
	}
	return 0, ""
}

func httpCode(err error) int {
	if status.Code(err) == codes.PermissionDenied {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
