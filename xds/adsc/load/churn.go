package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ChurnOptions say how a scenario runs.
type ChurnOptions struct {
	Writer  Writer
	Changes int
	// Settle is how long the run waits once a change has arrived everywhere (and before the first
	// change), so that what a change makes the server send late is counted with it; 0 means 2 s.
	Settle time.Duration
	// Timeout bounds the wait for one change to arrive everywhere; 0 means 1 minute.
	Timeout time.Duration
}

// Churn makes a scenario's changes one after another. Each waits until every sidecar holds it (or
// the timeout), then for the settle time; its window counts everything the sidecars were sent until
// the next change. Finally the mesh is restored. An error says which changes did not arrive
// everywhere; the result still reports them.
func (f *Fleet) Churn(ctx context.Context, sc Scenario, o ChurnOptions) (ScenarioResult, error) {
	if o.Changes < 1 {
		return ScenarioResult{}, fmt.Errorf("%s: changes: %d, want at least 1", sc.Name, o.Changes)
	}
	if sc.MaxChanges > 0 && o.Changes > sc.MaxChanges {
		return ScenarioResult{}, fmt.Errorf("%s makes at most %d changes", sc.Name, sc.MaxChanges)
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	f.scenario.Store(&scenarioRun{id: int(f.windows.Add(1)), probes: sc.Probes})
	defer f.scenario.Store(nil)
	res := ScenarioResult{Name: sc.Name}
	var failures []error
	if err := sleep(ctx, o.Settle); err != nil {
		return res, err
	}
	var received, acked []time.Duration
	for i := range o.Changes {
		if f.alive() == 0 {
			return res, errors.Join(append(failures, fmt.Errorf("%s: every stream has ended", sc.Name))...)
		}
		ch := sc.Change(i)
		cr, r, a, err := f.change(ctx, i, ch, sc, o)
		if err != nil {
			return res, err
		}
		res.Changes = append(res.Changes, cr)
		received, acked = append(received, r...), append(acked, a...)
		res.Sent.add(cr.Sent)
		res.NACKs += cr.NACKs
		if cr.Converged < cr.Streams {
			res.Unconverged += cr.Streams - cr.Converged
			failures = append(failures, fmt.Errorf("%s change %d (%s): %d of %d sidecars did not get it (%d streams lost: %s)",
				sc.Name, i+1, ch.What, cr.Streams-cr.Converged, cr.Streams, cr.Lost, strings.Join(cr.LostBecause, "; ")))
		}
	}
	res.Received, res.Acked = summarize(received), summarize(acked)
	if restore := sc.Restore(o.Changes); len(restore.Apply)+len(restore.Remove) > 0 {
		f.open(nil, nil)
		if err := o.Writer.Write(ctx, restore.Apply, restore.Remove); err != nil {
			return res, fmt.Errorf("%s: restoring the mesh: %w", sc.Name, err)
		}
		if err := sleep(ctx, o.Settle); err != nil {
			return res, err
		}
	}
	return res, errors.Join(failures...)
}

// change makes one change and measures it.
func (f *Fleet) change(ctx context.Context, i int, ch Change, sc Scenario, o ChurnOptions) (ChangeResult, []time.Duration, []time.Duration, error) {
	before, selfBefore := f.sample()
	w := f.open(ch.Expect, sc.Probes)
	opened := time.Now()
	if err := o.Writer.Write(ctx, ch.Apply, ch.Remove); err != nil {
		return ChangeResult{}, nil, nil, fmt.Errorf("%s change %d (%s): %w", sc.Name, i+1, ch.What, err)
	}
	written := time.Now()
	w.setStart(written)
	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	select {
	case <-w.done:
	case <-timeout.C:
	case <-ctx.Done():
		return ChangeResult{}, nil, nil, ctx.Err()
	}
	if err := sleep(ctx, o.Settle); err != nil {
		return ChangeResult{}, nil, nil, err
	}
	usage, self := f.usage(w, before, selfBefore)
	f.open(nil, nil) // the window ends here: nothing after it counts for this change
	window := time.Since(written)
	received, answered, arrived, lost := w.latencies(func(int) time.Time { return written })
	return ChangeResult{Index: i + 1, What: ch.What, Write: written.Sub(opened), WriteMs: millis(written.Sub(opened)),
		Streams: len(f.sidecars), Converged: arrived, Lost: lost, LostBecause: f.lossReasons(w), Received: summarize(received), Acked: summarize(answered),
		Sent: w.typeCounts(), NACKs: w.nacks.Load(), Window: window, WindowMs: millis(window), Server: usage, ToolCPU: self, ToolCPUSeconds: seconds(self)}, received, answered, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
