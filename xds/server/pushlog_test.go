package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minipilot/minipilot/model"
)

// The log keeps each stream's sends and answers of a push, streams opened after it began included,
// and a stream converges only when every type it was sent is ACKed (a NACK answered by a newer,
// ACKed response included).
func TestPushLogRecordsEachStreamsAnswers(t *testing.T) {
	l := newPushLog(2, NewMetrics(prometheus.NewRegistry()))
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	conns := []*conn{newConn(7, &model.Proxy{ID: "b"}, true, t0), newConn(3, &model.Proxy{ID: "a"}, true, t0)}
	late := newConn(9, &model.Proxy{ID: "a"}, true, t0.Add(time.Second))
	snap := &model.Snapshot{Generation: 5, ChangedAt: t0}
	l.begin(snap, model.Change{}, t0, conns)
	for _, c := range append(conns, late) {
		c.generation = 5
	}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	l.sent(conns[0], cds, at(1))
	l.sent(conns[0], eds, at(2))
	l.answered(conns[0], cds, at(3), "")
	l.answered(conns[0], eds, at(4), "bad endpoint")
	l.sent(late, lds, at(5))
	l.answered(late, lds, at(6), "")
	l.sent(conns[0], eds, at(7)) // the corrected set
	l.answered(conns[0], eds, at(8), "")

	got := (&Server{pushes: l}).Pushes()
	if len(got) != 1 || len(got[0].Streams) != 3 {
		t.Fatalf("pushes = %+v, want one push to three streams", got)
	}
	streams := got[0].Streams
	if streams[0].Stream != 3 || streams[1].Stream != 9 || streams[2].Stream != 7 {
		t.Fatalf("streams in order %d %d %d, want by node then stream: 3 9 7", streams[0].Stream, streams[1].Stream, streams[2].Stream)
	}
	if len(streams[0].Types) != 0 || !streams[0].ConvergedAt.IsZero() {
		t.Errorf("stream 3 was sent nothing, got %+v", streams[0])
	}
	if l := streams[1]; !l.ConvergedAt.Equal(at(6)) || !l.Types["lds"].SentAt.Equal(at(5)) {
		t.Errorf("late stream = %+v %+v, want LDS sent at 5ms, converged at 6ms", l, l.Types["lds"])
	}
	b := streams[2]
	if !b.ConvergedAt.Equal(at(8)) {
		t.Errorf("stream 7 converged at %v, want at 8ms (the EDS ACK after its NACK)", b.ConvergedAt.Sub(t0))
	}
	if eds := b.Types["eds"]; eds.Nack != "" || !eds.SentAt.Equal(at(7)) || !eds.AckedAt.Equal(at(8)) {
		t.Errorf("stream 7 EDS = %+v, want the resend at 7ms ACKed at 8ms", eds)
	}
}

// A NACKed type holds convergence back, and the log keeps only its last pushes.
func TestPushLogNackHoldsConvergenceAndOldPushesGo(t *testing.T) {
	l := newPushLog(2, NewMetrics(prometheus.NewRegistry()))
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	c := newConn(1, &model.Proxy{ID: "a"}, true, t0)
	for gen := uint64(1); gen <= 3; gen++ {
		l.begin(&model.Snapshot{Generation: gen}, model.Change{}, t0, []*conn{c})
	}
	c.generation = 3
	l.sent(c, cds, t0)
	l.answered(c, cds, t0, "no")
	got := (&Server{pushes: l}).Pushes()
	if len(got) != 2 || got[0].Generation != 2 {
		t.Fatalf("kept %d pushes from generation %d, want the last 2", len(got), got[0].Generation)
	}
	if sp := got[1].Streams[0]; sp.Types["cds"].Nack != "no" || !sp.ConvergedAt.IsZero() {
		t.Errorf("NACKed stream = %+v, want its NACK and no convergence", sp)
	}
}
