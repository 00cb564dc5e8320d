package load

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a whole run: the setup, the fleet connecting, and every scenario.
type Report struct {
	Setup     Setup            `json:"setup"`
	Connect   ConnectResult    `json:"connect"`
	Scenarios []ScenarioResult `json:"scenarios,omitempty"`
}

// Setup describes what was measured, for the report's reader.
type Setup struct {
	Mesh       string `json:"mesh,omitempty"`
	Source     string `json:"source,omitempty"` // where the mesh is served from (a directory, a cluster)
	Sidecars   int    `json:"sidecars"`
	Namespaces int    `json:"namespaces"`
	LabelSets  int    `json:"labelSets"`
	Client     string `json:"client"`
	Validating int    `json:"validating,omitempty"`
	ServerPID  int    `json:"serverPid,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as tables a person reads.
func (r Report) WriteText(out io.Writer) error {
	var b strings.Builder
	s := r.Setup
	if s.Mesh != "" {
		fmt.Fprintf(&b, "mesh:     %s", s.Mesh)
		if s.Source != "" {
			fmt.Fprintf(&b, ", served from %s", s.Source)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "sidecars: %d in %d namespaces, %d label sets, %s client", s.Sidecars, s.Namespaces, s.LabelSets, s.Client)
	if s.Validating > 0 {
		fmt.Fprintf(&b, " (%d of them validating)", s.Validating)
	}
	if s.ServerPID != 0 {
		fmt.Fprintf(&b, "; server pid %d", s.ServerPID)
	}
	c := r.Connect
	fmt.Fprintf(&b, "\n\nconnect:  %d/%d sidecars with a full config in %s", c.Configured, c.Streams, dur(c.Wall))
	if c.Lost > 0 {
		fmt.Fprintf(&b, " (%d streams lost: %s)", c.Lost, strings.Join(c.LostBecause, "; "))
	}
	fmt.Fprintf(&b, "\n          dial → full config received %s, ACKed %s\n", lat(c.Received), lat(c.Acked))
	fmt.Fprintf(&b, "          sent %s; %d NACKs\n", sent(c.Sent), c.NACKs)
	if s.ServerPID != 0 {
		fmt.Fprintf(&b, "          server: %s\n", usage(c.Server))
	}
	if c.ToolCPU > 0 {
		fmt.Fprintf(&b, "          xds-load itself: CPU %.2fs\n", c.ToolCPU.Seconds())
	}
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "\n%s: %s; change → every sidecar (p50 / p99 / max)\n", sc.Name, plural(len(sc.Changes), "change"))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tchange\tarrived\treceived\tACKed\tsent cds\teds\tlds\trds\tNACKs\tserver CPU\tRSS max\ttool CPU\t")
		for _, ch := range sc.Changes {
			arrived := fmt.Sprintf("%d/%d", ch.Converged, ch.Streams)
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.2fs\t\n", ch.Index, ch.What, arrived, lat(ch.Received), lat(ch.Acked),
				count(ch.Sent.CDS), count(ch.Sent.EDS), count(ch.Sent.LDS), count(ch.Sent.RDS), ch.NACKs, cpu(ch.Server, s), rss(ch.Server, s),
				ch.ToolCPU.Seconds())
		}
		fmt.Fprintf(tw, "  all\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\t\t\t\n", unconverged(sc), lat(sc.Received), lat(sc.Acked),
			count(sc.Sent.CDS), count(sc.Sent.EDS), count(sc.Sent.LDS), count(sc.Sent.RDS), sc.NACKs)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func unconverged(sc ScenarioResult) string {
	expected := 0
	for _, ch := range sc.Changes {
		expected += ch.Streams
	}
	return fmt.Sprintf("%d/%d", expected-sc.Unconverged, expected)
}

func lat(l Latencies) string {
	if l.Count == 0 {
		return "-"
	}
	return dur(l.P50) + " / " + dur(l.P99) + " / " + dur(l.Max)
}

// dur rounds a duration to what a reader compares: 0.1 ms under 10 ms, 1 ms under 1 s, 10 ms above.
func dur(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func count(c TypeCount) string {
	if c.Responses == 0 {
		return "-"
	}
	return fmt.Sprintf("%d (%s)", c.Responses, size(c.Bytes))
}

func sent(c TypeCounts) string {
	var parts []string
	for t, name := range []string{"cds", "eds", "lds", "rds"} {
		parts = append(parts, name+" "+count(*c.of(t)))
	}
	return strings.Join(parts, ", ")
}

func size(b int64) string {
	switch {
	case b < 1<<10:
		return fmt.Sprintf("%d B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
}

func usage(u ServerUsage) string {
	return fmt.Sprintf("CPU %.2fs, RSS %s (max sampled %s, peak %s)", u.CPU.Seconds(), size(u.RSS), size(u.RSSMax), size(u.HWM))
}

func cpu(u ServerUsage, s Setup) string {
	if s.ServerPID == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fs", u.CPU.Seconds())
}

func rss(u ServerUsage, s Setup) string {
	if s.ServerPID == 0 {
		return "-"
	}
	return size(u.RSSMax)
}
