package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/minipilot/minipilot/xds/server"
)

var statusTypes = []string{"cds", "eds", "lds", "rds"}

func proxyStatus(e *env, args []string) error {
	fs := flags(e, "proxy-status", "[<node>]", "Without a node: one row per connected proxy stream, with each type's state as istioctl shows it:\n"+
		"SYNCED (the last response was acknowledged), NOT SENT, STALE (sent, not acknowledged yet), ERROR (refused;\n"+
		"-o wide shows the proxy's message), IGNORED (not asked for). With a node: what the proxy has against what\n"+
		"pilot would send it now, resource by resource.")
	connect := pilotFlags(fs, e)
	output := fs.String("o", "table", "output: table, wide or json")
	namespace := fs.String("namespace", "", "only proxies in this namespace")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	c := connect()
	switch len(args) {
	case 0:
	case 1:
		return proxyDiff(e.stdout, c, args[0])
	default:
		return usagef("at most one node, got %d arguments", len(args))
	}
	var streams []server.ProxyStatus
	if err := c.getJSON("/debug/syncz", &streams); err != nil {
		return err
	}
	if *namespace != "" {
		streams = filterNamespace(streams, *namespace)
	}
	switch *output {
	case "json":
		fmt.Fprintln(e.stdout, canonical(streams))
		return nil
	case "table", "wide":
		writeStatusTable(e.stdout, streams, *output == "wide")
		return nil
	}
	return usagef("-o %q: want table, wide or json", *output)
}

func filterNamespace(in []server.ProxyStatus, ns string) []server.ProxyStatus {
	var out []server.ProxyStatus
	for _, s := range in {
		if s.Namespace == ns {
			out = append(out, s)
		}
	}
	return out
}

func writeStatusTable(w io.Writer, streams []server.ProxyStatus, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	head := "NAME\tNAMESPACE\tPROTOCOL\tCDS\tEDS\tLDS\tRDS\tCLIENT"
	if wide {
		head += "\tSTREAM\tGENERATION\tMESSAGE"
	}
	fmt.Fprintln(tw, head)
	for _, s := range streams {
		row := []string{s.ID, s.Namespace, s.Protocol}
		var messages []string
		for _, t := range statusTypes {
			ts := s.Types[t]
			state := ts.Status
			if ts.Subscribed == nil && ts.Sent.Nonce == "" {
				state = "IGNORED"
			}
			row = append(row, state)
			if ts.LastNack != nil && state == "ERROR" {
				messages = append(messages, strings.ToUpper(t)+": "+oneLine(ts.LastNack.Message))
			}
		}
		row = append(row, orDash(s.Client))
		if wide {
			if s.Staged {
				messages = append(messages, "listeners and routes wait for the endpoints of new clusters")
			}
			messages = append(messages, s.Warnings...)
			row = append(row, fmt.Sprint(s.Stream), fmt.Sprint(s.Generation), orDash(strings.Join(messages, "; ")))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// proxyDiff is proxy-status <node>: what the proxy holds against what pilot would send it from the
// current model (a preview with no change), per type.
func proxyDiff(w io.Writer, c *client, node string) error {
	p, err := c.preview(node, nil)
	if err != nil {
		return err
	}
	have, want, err := p.resources()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Comparing what %s has with what pilot would send it now:\n", node)
	for _, dt := range dumpTypes {
		n := configDiff(io.Discard, map[string][]resourceJSON{dt.short: have[dt.short]}, map[string][]resourceJSON{dt.short: want[dt.short]})
		if n == 0 {
			fmt.Fprintf(w, "%s match (%d)\n", dt.title, len(have[dt.short]))
			continue
		}
		fmt.Fprintf(w, "%s differ (%d of %d):\n", dt.title, n, max(len(have[dt.short]), len(want[dt.short])))
		configDiff(w, map[string][]resourceJSON{dt.short: have[dt.short]}, map[string][]resourceJSON{dt.short: want[dt.short]})
	}
	return nil
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
