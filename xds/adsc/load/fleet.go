// Package load stands many Envoy-like sidecars up against an xDS server and measures it: how long
// the fleet takes to get a full, accepted config, and, in churn scenarios (endpoint flaps,
// VirtualService edits, services added), how long each change takes to reach and be ACKed by every
// sidecar, what it made the server send, and what the server spent (CPU and memory from /proc).
// cmd/xds-load is its command line; the e2e tests run it against the real binary.
package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/minipilot/minipilot/xds/adsc/lite"
)

// Options say which sidecars to run against which server.
type Options struct {
	Addr  string
	Fleet FleetSpec
	// Dial opens each sidecar's stream; nil runs the cheap client (LiteDialer).
	Dial Dialer
	// Validating sidecars, spread over the fleet, run FullDialer instead: a few full clients catch
	// config Envoy would refuse while the rest stay cheap.
	Validating int
	// Server is the server's process, sampled for CPU and memory; PID 0 samples nothing.
	Server Proc
	// Self is the load tool's own process, whose CPU time the report shows beside the server's (the
	// two share the machine); PID 0 samples nothing.
	Self Proc
	// SampleEvery is how often the server's memory is read; 0 means 100 ms.
	SampleEvery time.Duration
	// ConnectTimeout bounds the fleet's connecting; 0 means 2 minutes.
	ConnectTimeout time.Duration
}

// Fleet is a set of connected sidecars.
type Fleet struct {
	opts     Options
	sidecars []*sidecar
	window   atomic.Pointer[window]
	scenario atomic.Pointer[scenarioRun]
	windows  atomic.Int64 // window ids
	closing  atomic.Bool
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// scenarioRun is the scenario being run: the probes every sidecar watches for all of it.
type scenarioRun struct {
	id     int
	probes []*Probe
}

// sidecar is one simulated proxy.
type sidecar struct {
	index    int
	proxy    Proxy
	conn     *grpc.ClientConn
	stream   Stream
	dialedAt time.Time
	ended    atomic.Bool
	endErr   atomic.Pointer[error] // why the stream ended

	mu         sync.Mutex
	acked      [numTypes]bool
	scenarioID int
	persistent probes
	localID    int
	local      probes
	metIn      int // the last window this sidecar arrived in
}

// Connect dials every sidecar, each on its own gRPC connection as real sidecars are, and waits until
// each has a full, ACKed config (clusters, endpoints, listeners, routes). When one does not within
// the timeout, or a stream ends first, the fleet is closed and the error comes with what was measured.
func Connect(ctx context.Context, o Options) (*Fleet, ConnectResult, error) {
	if err := o.Fleet.Check(); err != nil {
		return nil, ConnectResult{}, err
	}
	if o.Dial == nil {
		o.Dial = LiteDialer(lite.NewNameCache())
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = 100 * time.Millisecond
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 2 * time.Minute
	}
	runCtx, stop := context.WithCancel(context.Background())
	f := &Fleet{opts: o, stop: stop}
	n := o.Fleet.Proxies
	f.sidecars = make([]*sidecar, n)
	for i := range n {
		f.sidecars[i] = &sidecar{index: i, proxy: o.Fleet.Proxy(i)}
	}
	w := f.open(nil, nil)
	w.connecting = true
	before, selfBefore := f.sample()
	start := time.Now()
	f.sampleMemory(runCtx)
	errs := make([]error, n)
	var dialing sync.WaitGroup
	for i, s := range f.sidecars {
		dialing.Add(1)
		go func() {
			defer dialing.Done()
			errs[i] = f.dial(runCtx, s, f.dialerOf(i))
		}()
	}
	dialing.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Close()
		return nil, ConnectResult{}, err
	}
	timeout := time.NewTimer(o.ConnectTimeout)
	defer timeout.Stop()
	var waitErr error
	select {
	case <-w.done:
	case <-timeout.C:
		waitErr = fmt.Errorf("not every sidecar had a full config within %s", o.ConnectTimeout)
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	wall := time.Since(start)
	res := f.connectResult(w, wall, before, selfBefore)
	if waitErr == nil && res.Lost > 0 {
		waitErr = fmt.Errorf("%d of %d streams ended before they had a full config: %s", res.Lost, res.Streams, strings.Join(res.LostBecause, "; "))
	}
	if waitErr != nil {
		f.Close()
		return nil, res, waitErr
	}
	f.open(nil, nil) // until a change, responses are counted nowhere
	return f, res, nil
}

// envoyWindow is Envoy's default HTTP/2 stream and connection window.
const envoyWindow = 256 << 20

// dialerOf picks the client of the i-th sidecar.
func (f *Fleet) dialerOf(i int) Dialer {
	n, v := f.opts.Fleet.Proxies, f.opts.Validating
	if v > 0 && i*v%n < v { // v of the n sidecars, evenly spread
		return FullDialer
	}
	return f.opts.Dial
}

func (f *Fleet) dial(ctx context.Context, s *sidecar, dial Dialer) error {
	conn, err := grpc.NewClient(f.opts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Envoy's HTTP/2 windows (256 MiB): fixed, as Envoy's are, which also keeps grpc-go from
		// estimating the bandwidth with a ping round trip after every response it reads.
		grpc.WithInitialWindowSize(envoyWindow), grpc.WithInitialConnWindowSize(envoyWindow))
	if err != nil {
		return err
	}
	s.conn, s.dialedAt = conn, time.Now()
	s.stream, err = dial(ctx, conn, s.proxy.ID, s.proxy.Metadata(f.opts.Fleet.Metadata), func(r *lite.Response) { f.observe(s, r) })
	if err != nil {
		conn.Close()
		return fmt.Errorf("%s: %w", s.proxy.ID, err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		<-s.stream.Done()
		err := s.stream.Err()
		s.endErr.Store(&err)
		s.ended.Store(true)
		if !f.closing.Load() {
			f.window.Load().lose(s.index)
		}
	}()
	return nil
}

// open starts a new window, which every response from now on is counted in (without expectations,
// it only counts). A sidecar whose stream has ended is lost to it from the start.
func (f *Fleet) open(expect []Expect, persistent []*Probe) *window {
	w := newWindow(int(f.windows.Add(1)), len(f.sidecars), expect, persistent)
	f.window.Store(w)
	for _, s := range f.sidecars {
		if s.ended.Load() {
			w.lose(s.index)
		}
	}
	return w
}

// observe handles one response of one sidecar, on that sidecar's stream goroutine.
func (f *Fleet) observe(s *sidecar, r *lite.Response) {
	w := f.window.Load()
	w.count(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := typeIndex(r.TypeURL); ok && r.NACK == nil {
		s.acked[t] = true
	}
	if sc := f.scenario.Load(); sc != nil {
		if s.scenarioID != sc.id {
			s.scenarioID, s.persistent = sc.id, probes{}
		}
		s.persistent.apply(sc.probes, r)
	}
	if s.localID != w.id {
		s.localID, s.local = w.id, probes{}
	}
	s.local.apply(w.local, r)
	if s.metIn != w.id && s.meets(w) {
		s.metIn = w.id
		w.arrive(s.index, r.Received, r.Answered)
	}
}

// meets says whether a sidecar has what a window waits for: a full config while connecting,
// the change's expectations after one.
func (s *sidecar) meets(w *window) bool {
	if w.connecting {
		return s.acked == [numTypes]bool{true, true, true, true}
	}
	if w.expect == nil {
		return false // between changes: nothing to arrive with
	}
	for _, e := range w.expect {
		st := s.persistent[e.Probe]
		if st == nil {
			st = s.local[e.Probe]
		}
		if st.present() != e.Present {
			return false
		}
	}
	return true
}

// sample reads the server's and the tool's own process (zero for one not sampled).
func (f *Fleet) sample() (server, self ProcSample) {
	if f.opts.Server.PID != 0 {
		server, _ = f.opts.Server.Sample()
	}
	if f.opts.Self.PID != 0 {
		self, _ = f.opts.Self.Sample()
	}
	return server, self
}

// sampleMemory notes the server's resident set in the current window until the fleet closes.
func (f *Fleet) sampleMemory(ctx context.Context) {
	if f.opts.Server.PID == 0 {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		tick := time.NewTicker(f.opts.SampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if s, err := f.opts.Server.Sample(); err == nil {
					f.window.Load().noteRSS(s.RSS)
				}
			}
		}
	}()
}

// usage is what the server, and the tool itself, spent during a window.
func (f *Fleet) usage(w *window, before, selfBefore ProcSample) (ServerUsage, time.Duration) {
	after, self := f.sample()
	if f.opts.Server.PID == 0 {
		return ServerUsage{}, self.CPU - selfBefore.CPU
	}
	w.noteRSS(after.RSS)
	return ServerUsage{CPU: after.CPU - before.CPU, RSS: after.RSS, RSSMax: w.rss.Load(), HWM: after.HWM}, self.CPU - selfBefore.CPU
}

func (f *Fleet) connectResult(w *window, wall time.Duration, before, selfBefore ProcSample) ConnectResult {
	received, answered, arrived, lost := w.latencies(func(i int) time.Time { return f.sidecars[i].dialedAt })
	server, self := f.usage(w, before, selfBefore)
	return ConnectResult{Streams: len(f.sidecars), Configured: arrived, Lost: lost, LostBecause: f.lossReasons(w), Wall: wall, WallMs: millis(wall),
		Received: summarize(received), Acked: summarize(answered), Sent: w.typeCounts(), NACKs: w.nacks.Load(),
		Server: server, ToolCPU: self, ToolCPUSeconds: seconds(self)}
}

// alive counts the sidecars whose streams are open.
func (f *Fleet) alive() int {
	n := 0
	for _, s := range f.sidecars {
		if !s.ended.Load() {
			n++
		}
	}
	return n
}

// lossReasons says why the streams lost to a window ended: each distinct error with its count.
func (f *Fleet) lossReasons(w *window) []string {
	count := map[string]int{}
	for _, i := range w.lostOnes() {
		reason := "ended"
		if err := f.sidecars[i].endErr.Load(); err != nil && *err != nil {
			reason = (*err).Error()
		}
		count[reason]++
	}
	var out []string
	for reason, n := range count {
		out = append(out, fmt.Sprintf("%d× %s", n, reason))
	}
	slices.Sort(out)
	return out
}

// Close ends every stream and connection.
func (f *Fleet) Close() {
	f.closing.Store(true)
	for _, s := range f.sidecars {
		if s.stream != nil {
			_ = s.stream.Close()
		}
		if s.conn != nil {
			_ = s.conn.Close()
		}
	}
	f.stop()
	f.wg.Wait()
}
