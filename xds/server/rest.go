package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// restTypes maps Envoy's REST-JSON xDS paths to types.
var restTypes = map[string]int{
	"/v3/discovery:clusters": cds, "/v3/discovery:endpoints": eds,
	"/v3/discovery:listeners": lds, "/v3/discovery:routes": rds,
}

// maxRESTRequest bounds a polled request's body: a node and a few names.
const maxRESTRequest = 1 << 20

// ServeHTTP answers Envoy's REST-JSON polling (POST /v3/discovery:clusters, :endpoints, :listeners,
// :routes): the resources the request names (all of them for none), 304 when it already has that
// version.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t, ok := restTypes[r.URL.Path]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown xDS path %s: want /v3/discovery:clusters, :endpoints, :listeners or :routes", r.URL.Path), http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTRequest+1))
	if err != nil || len(body) > maxRESTRequest {
		http.Error(w, "the request body is unreadable or larger than 1 MiB", http.StatusBadRequest)
		return
	}
	req := &discoveryv3.DiscoveryRequest{}
	if err := protojson.Unmarshal(body, req); err != nil {
		http.Error(w, "the body is not a DiscoveryRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.fetch(t, req)
	switch {
	case errors.Is(err, errNotReady):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case resp == nil:
		w.WriteHeader(http.StatusNotModified)
		return
	}
	out, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

var errNotReady = errors.New("not ready: the model has not synced yet")

// fetch answers one REST poll; nil when the request already has the current version.
func (s *Server) fetch(t int, req *discoveryv3.DiscoveryRequest) (*discoveryv3.DiscoveryResponse, error) {
	if url := req.GetTypeUrl(); url != "" && url != typeURLs[t] {
		return nil, fmt.Errorf("type_url %s does not match the path's %s", url, strings.TrimPrefix(typeURLs[t], "type.googleapis.com/"))
	}
	proxy, err := proxyFromNode(req.GetNode())
	if err != nil {
		return nil, err
	}
	snap := s.snapshot.Load()
	if snap == nil {
		return nil, errNotReady
	}
	var listeners []string
	if proxy.Proxyless {
		listeners = req.GetResourceNames()
	}
	tr, err := s.translationsOf(snap).get(proxy, listeners)
	if err != nil {
		return nil, fmt.Errorf("translating for %s failed; see pilot's log", proxy.ID)
	}
	set := tr.sets[t].filter(newSubscription(req.GetResourceNames()))
	if set.version == req.GetVersionInfo() {
		return nil, nil
	}
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: set.version, TypeUrl: typeURLs[t]}
	for _, raw := range set.raw {
		resp.Resources = append(resp.Resources, &anypb.Any{TypeUrl: typeURLs[t], Value: raw})
	}
	return resp, nil
}
