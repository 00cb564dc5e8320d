package load

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// TypeCount is what the sidecars were sent of one type, all together.
type TypeCount struct {
	Responses int64 `json:"responses"`
	Bytes     int64 `json:"bytes"`
}

// TypeCounts is a TypeCount per xDS type.
type TypeCounts struct {
	CDS TypeCount `json:"cds"`
	EDS TypeCount `json:"eds"`
	LDS TypeCount `json:"lds"`
	RDS TypeCount `json:"rds"`
}

func (c *TypeCounts) of(t int) *TypeCount {
	return [numTypes]*TypeCount{&c.CDS, &c.EDS, &c.LDS, &c.RDS}[t]
}

func (c *TypeCounts) add(o TypeCounts) {
	for t := range numTypes {
		c.of(t).Responses += o.of(t).Responses
		c.of(t).Bytes += o.of(t).Bytes
	}
}

// Latencies summarize durations across sidecars: nearest-rank percentiles.
type Latencies struct {
	Count         int
	P50, P99, Max time.Duration
}

func summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration { return s[max(0, int(math.Ceil(p*float64(len(s))))-1)] }
	return Latencies{Count: len(s), P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
}

// MarshalJSON writes milliseconds, for scripts.
func (l Latencies) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	return json.Marshal(struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50Ms"`
		P99   float64 `json:"p99Ms"`
		Max   float64 `json:"maxMs"`
	}{l.Count, ms(l.P50), ms(l.P99), ms(l.Max)})
}

// ServerUsage is what the server process used during a window, from /proc.
type ServerUsage struct {
	CPU    time.Duration // user and system time
	RSS    int64         // resident set at the end, bytes
	RSSMax int64         // highest resident set sampled during the window
	HWM    int64         // the process's peak resident set so far (VmHWM)
}

// MarshalJSON writes CPU seconds and mebibytes.
func (u ServerUsage) MarshalJSON() ([]byte, error) {
	mib := func(b int64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }
	return json.Marshal(struct {
		CPU    float64 `json:"cpuSeconds"`
		RSS    float64 `json:"rssMiB"`
		RSSMax float64 `json:"rssMaxMiB"`
		HWM    float64 `json:"hwmMiB"`
	}{seconds(u.CPU), mib(u.RSS), mib(u.RSSMax), mib(u.HWM)})
}

// ConnectResult is the fleet connecting: how long each sidecar took from dialing to a full, ACKed
// config, and what the server sent and spent meanwhile.
type ConnectResult struct {
	Streams    int `json:"streams"`
	Configured int `json:"configured"`
	Lost       int `json:"lost"`
	// LostBecause says why lost streams ended: each distinct error, with its count.
	LostBecause []string      `json:"lostBecause,omitempty"`
	Wall        time.Duration `json:"-"`
	WallMs      float64       `json:"wallMs"`
	// Received is dialing → the last type of the full config received; Acked → its ACK sent.
	Received Latencies   `json:"received"`
	Acked    Latencies   `json:"acked"`
	Sent     TypeCounts  `json:"sent"`
	NACKs    int64       `json:"nacks"`
	Server   ServerUsage `json:"server"`
	// ToolCPU is what the load tool itself spent meanwhile (it shares the machine with the server).
	ToolCPU        time.Duration `json:"-"`
	ToolCPUSeconds float64       `json:"toolCpuSeconds"`
}

// ChangeResult is one change: from the change being in place to every sidecar holding it.
type ChangeResult struct {
	Index       int           `json:"index"`
	What        string        `json:"what"`
	Write       time.Duration `json:"-"`
	WriteMs     float64       `json:"writeMs"`
	Streams     int           `json:"streams"`
	Converged   int           `json:"converged"`
	Lost        int           `json:"lost"`
	LostBecause []string      `json:"lostBecause,omitempty"`
	// Received is change → the response that completed it received, Acked → its ACK sent.
	Received Latencies     `json:"received"`
	Acked    Latencies     `json:"acked"`
	Sent     TypeCounts    `json:"sent"` // everything received until the next change
	NACKs    int64         `json:"nacks"`
	Window   time.Duration `json:"-"`
	WindowMs float64       `json:"windowMs"`
	Server   ServerUsage   `json:"server"`
	// ToolCPU is what the load tool itself spent during the window.
	ToolCPU        time.Duration `json:"-"`
	ToolCPUSeconds float64       `json:"toolCpuSeconds"`
}

// ScenarioResult is every change of one scenario, and all of them pooled.
type ScenarioResult struct {
	Name    string         `json:"name"`
	Changes []ChangeResult `json:"changes"`
	// Pooled over every sidecar of every change.
	Received    Latencies  `json:"received"`
	Acked       Latencies  `json:"acked"`
	Sent        TypeCounts `json:"sent"`
	NACKs       int64      `json:"nacks"`
	Unconverged int        `json:"unconverged"` // sidecar-changes that never arrived
}

func millis(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }
