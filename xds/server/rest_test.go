package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/minipilot/minipilot/adapters/memory"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/server"
)

// TestRESTPolling: Envoy's REST-JSON polling gets the same clusters, and a 304 once it has them.
func TestRESTPolling(t *testing.T) {
	store := model.NewStore("cluster.local", time.Now)
	memory.New(store, "test").Replace(bookinfo())
	srv := server.New(store, server.Options{Log: zaptest.NewLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { srv.Run(ctx); close(ran) }()
	t.Cleanup(func() { cancel(); <-ran })
	waitFor(t, "the server to sync", srv.Ready)

	poll := func(version string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{"node": map[string]any{"id": sidecarID}, "version_info": version})
		req := httptest.NewRequest(http.MethodPost, "/v3/discovery:clusters", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		code := rec.Code
		var resp map[string]any
		if code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
		}
		return code, resp
	}
	code, resp := poll("")
	// 2 services, the passthrough and black hole, and the sidecar's inbound side (its workload serves productpage).
	if code != http.StatusOK || len(resp["resources"].([]any)) != 6 {
		t.Fatalf("want 6 clusters (2 services, the passthrough, the black hole, inbound|9080|| and the inbound passthrough), got %d %v", code, resp)
	}
	if code, _ := poll(resp["version_info"].(string)); code != http.StatusNotModified {
		t.Fatalf("polling with the current version: got %d, want 304", code)
	}
}
