package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minipilot/minipilot/model"
)

// BenchmarkPushLog fills the log with its 32 pushes to 500 streams, each sent and ACKing every
// type, and reports the bytes it keeps.
func BenchmarkPushLog(b *testing.B) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	conns := make([]*conn, 500)
	for i := range conns {
		conns[i] = newConn(int64(i+1), &model.Proxy{ID: "sidecar"}, true, t0)
	}
	var kept uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := newPushLog(pushLogSize, NewMetrics(prometheus.NewRegistry()))
		for gen := uint64(1); gen <= pushLogSize; gen++ {
			l.begin(&model.Snapshot{Generation: gen, ChangedAt: t0}, model.Change{}, t0, conns)
			for _, c := range conns {
				c.generation = gen
				for t := range numTypes {
					l.sent(c, t, t0.Add(time.Millisecond))
					l.answered(c, t, t0.Add(2*time.Millisecond), "")
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(l)
	}
	b.ReportMetric(float64(kept), "B-kept")
}
