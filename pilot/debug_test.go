package pilot

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/server"
)

func TestProfilingOnlyWhenEnabled(t *testing.T) {
	store := model.NewStore("cluster.local", time.Now)
	for _, enabled := range []bool{false, true} {
		d := &debugHandlers{store: store, xds: server.New(store, server.Options{}), registry: prometheus.NewRegistry(), log: zap.NewNop(), profiling: enabled}
		rec := httptest.NewRecorder()
		d.mux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
		if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[enabled]; rec.Code != want {
			t.Errorf("--enable-profiling=%v: /debug/pprof/ answered %d, want %d", enabled, rec.Code, want)
		}
	}
}
