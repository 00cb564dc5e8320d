package pilot

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/auth"
	"github.com/minipilot/minipilot/xds/server"

	// The config dump holds Anys of every extension the translator uses; linking their packages in
	// lets protojson print them.
	_ "github.com/minipilot/minipilot/xds/translate"
)

// debugHandlers serves the operator's view: what each proxy was sent and whether it took it, what the
// model holds, which rules are in force or were refused, health, metrics and REST xDS.
type debugHandlers struct {
	store    *model.Store
	xds      *server.Server
	registry *prometheus.Registry
	log      *zap.Logger
	// profiling serves /debug/pprof (--enable-profiling).
	profiling bool
	// guard, when the secure port or guarded REST xDS authenticates clients, lists who is connected.
	guard *auth.Guard
}

func (d *debugHandlers) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/config_dump", d.configDump)
	mux.HandleFunc("GET /debug/syncz", d.syncz)
	mux.HandleFunc("GET /debug/registryz", d.registryz)
	mux.HandleFunc("GET /debug/configz", d.configz)
	mux.HandleFunc("GET /debug/authz", d.authz)
	// The mesh config in force, as Istio's /debug/mesh: where it was read, and what of it is unused.
	mux.HandleFunc("GET /debug/mesh", func(w http.ResponseWriter, _ *http.Request) { d.writeJSON(w, d.store.Current().Mesh()) })
	mux.HandleFunc("GET /debug/pushz", d.pushz)
	mux.HandleFunc("POST /debug/preview", d.preview)
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{Registry: d.registry}))
	// Profiles only when asked for: they show the process's memory, including what clients sent.
	if d.profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	// Envoy's REST-JSON polling: POST /v3/discovery:clusters (and endpoints, listeners, routes).
	mux.Handle("POST /v3/{discovery}", d.xds)
	return mux
}

// configDump is Envoy's admin /config_dump for the proxy named by ?node= (or ?proxyID=, as istiod
// takes it): what it was last sent.
func (d *debugHandlers) configDump(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("node")
	if id == "" {
		id = r.URL.Query().Get("proxyID")
	}
	if id == "" {
		d.writeError(w, http.StatusBadRequest, "name the proxy with ?node=<node ID> (see /debug/syncz for the connected ones)")
		return
	}
	dump, err := d.xds.ConfigDump(id)
	if err != nil {
		d.writeError(w, http.StatusNotFound, err.Error())
		return
	}
	body, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(dump)
	if err != nil {
		d.writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (d *debugHandlers) syncz(w http.ResponseWriter, _ *http.Request) {
	d.writeJSON(w, d.xds.SyncStatus())
}

// registryEntry is a service with its endpoints, as /debug/registryz shows them.
type registryEntry struct {
	*model.Service
	Endpoints map[string][]*model.Endpoint `json:"endpoints"` // by service port name
}

func (d *debugHandlers) registryz(w http.ResponseWriter, _ *http.Request) {
	snap := d.store.Current()
	out := make([]registryEntry, 0, len(snap.Services))
	for _, svc := range snap.Services {
		e := registryEntry{Service: svc, Endpoints: map[string][]*model.Endpoint{}}
		for _, p := range svc.Ports {
			e.Endpoints[p.Name] = snap.Endpoints(svc.Hostname, p)
		}
		out = append(out, e)
	}
	d.writeJSON(w, map[string]any{"generation": snap.Generation, "services": out})
}

func (d *debugHandlers) configz(w http.ResponseWriter, _ *http.Request) {
	snap := d.store.Current()
	d.writeJSON(w, map[string]any{
		"generation":       snap.Generation,
		"virtualServices":  orEmpty(snap.VirtualServices),
		"destinationRules": orEmpty(snap.DestinationRules),
		"gateways":         orEmpty(snap.Gateways),
		"sidecars":         orEmpty(snap.Sidecars),
		"mesh":             snap.Mesh(),
		"rejected":         orEmpty(snap.Rejections),
		// What translation left out or suspects (a cluster that fails Envoy's validation, a route to
		// an unknown host), with the rule responsible.
		"translationWarnings": orEmpty(d.xds.TranslationWarnings()),
	})
}

// authz lists the authenticated xDS streams open now: node, proven identity, how it was proven.
func (d *debugHandlers) authz(w http.ResponseWriter, _ *http.Request) {
	streams := []auth.Stream{}
	if d.guard != nil {
		streams = d.guard.Streams()
	}
	d.writeJSON(w, map[string]any{"authenticating": d.guard != nil, "streams": streams})
}

// readyz is 200 only once every model source has synced and proxies are being served.
func (d *debugHandlers) readyz(w http.ResponseWriter, _ *http.Request) {
	if !d.xds.Ready() {
		http.Error(w, "not ready: the config sources have not synced yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// orEmpty makes a nil list print as [] rather than null: "nothing rejected" reads better to scripts.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (d *debugHandlers) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		d.log.Warn("writing a debug response", zap.Error(err))
	}
}

func (d *debugHandlers) writeError(w http.ResponseWriter, code int, msg string) {
	writeJSONError(w, code, msg)
}
