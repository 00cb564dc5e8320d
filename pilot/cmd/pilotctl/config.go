package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	// The config dump holds Anys of every extension the translator uses; linking their packages in
	// lets them be read.
	_ "github.com/minipilot/minipilot/xds/translate"
)

func proxyConfig(e *env, args []string) error {
	fs := flags(e, "proxy-config", "clusters|endpoints|listeners|routes|all|dump <node>",
		"What pilot last sent a proxy (what it holds), as readable tables, or the raw resources with -o json|yaml.\n"+
			"dump prints Envoy's admin config dump (what istioctl proxy-config --file reads); --diff compares the proxy's\n"+
			"config now with a dump saved before, in the form pilotctl preview shows.")
	connect := pilotFlags(fs, e)
	output := fs.String("o", "table", "output: table, json or yaml")
	diffFrom := fs.String("diff", "", "a config dump saved earlier (pilotctl proxy-config dump): show what changed since")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return usagef("want a type (clusters, endpoints, listeners, routes or all) and a node, got %d arguments", len(args))
	}
	kind := strings.TrimSuffix(args[0], "s") + "s" // cluster → clusters, as istioctl takes either
	if kind != "alls" && kind != "dumps" && !knownType(kind) {
		return usagef("unknown type %q: want clusters, endpoints, listeners, routes, all or dump", args[0])
	}
	if *output != "table" && *output != "json" && *output != "yaml" {
		return usagef("-o %q: want table, json or yaml", *output)
	}
	raw, err := connect().configDump(args[1])
	if err != nil {
		return err
	}
	switch {
	case kind == "dumps":
		_, err := e.stdout.Write(raw)
		return err
	case *diffFrom != "":
		return diffSince(e.stdout, *diffFrom, raw, args[1])
	case *output != "table":
		return writeRaw(e.stdout, raw, kind, *output)
	}
	var dump adminv3.ConfigDump
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &dump); err != nil {
		return fmt.Errorf("reading the config dump: %w", err)
	}
	var clusters []*clusterv3.Cluster
	var endpoints []*endpointv3.ClusterLoadAssignment
	var listeners []*listenerv3.Listener
	var routes []*routev3.RouteConfiguration
	for _, cfg := range dump.Configs {
		m, err := cfg.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("reading the config dump: %w", err)
		}
		switch d := m.(type) {
		case *adminv3.ClustersConfigDump:
			for _, c := range d.DynamicActiveClusters {
				clusters = append(clusters, unpack[*clusterv3.Cluster](c.Cluster))
			}
		case *adminv3.EndpointsConfigDump:
			for _, c := range d.DynamicEndpointConfigs {
				endpoints = append(endpoints, unpack[*endpointv3.ClusterLoadAssignment](c.EndpointConfig))
			}
		case *adminv3.ListenersConfigDump:
			for _, l := range d.DynamicListeners {
				listeners = append(listeners, unpack[*listenerv3.Listener](l.GetActiveState().GetListener()))
			}
		case *adminv3.RoutesConfigDump:
			for _, r := range d.DynamicRouteConfigs {
				routes = append(routes, unpack[*routev3.RouteConfiguration](r.RouteConfig))
			}
		}
	}
	tables := []struct {
		kind  string
		write func(io.Writer)
	}{
		{"clusters", func(w io.Writer) { clusterTable(w, clusters) }},
		{"endpoints", func(w io.Writer) { endpointTable(w, endpoints) }},
		{"listeners", func(w io.Writer) { listenerTable(w, listeners) }},
		{"routes", func(w io.Writer) { routeTable(w, routes) }},
	}
	first := true
	for _, t := range tables {
		if kind != "alls" && kind != t.kind {
			continue
		}
		if !first {
			fmt.Fprintln(e.stdout)
		}
		first = false
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
		t.write(tw)
		_ = tw.Flush()
	}
	return nil
}

func knownType(kind string) bool {
	for _, dt := range dumpTypes {
		if dt.short == kind {
			return true
		}
	}
	return false
}

// unpack reads an Any into a T; nil when it holds something else.
func unpack[T proto.Message](a interface{ UnmarshalNew() (proto.Message, error) }) T {
	var zero T
	m, err := a.UnmarshalNew()
	if err != nil {
		return zero
	}
	t, _ := m.(T)
	return t
}

// writeRaw prints the resources of a type (or all) as JSON or YAML.
func writeRaw(w io.Writer, raw []byte, kind, format string) error {
	res, err := dumpResources(raw)
	if err != nil {
		return err
	}
	var out any
	if kind == "alls" {
		all := map[string][]any{}
		for _, dt := range dumpTypes {
			all[dt.short] = bodies(res[dt.short])
		}
		out = all
	} else {
		out = bodies(res[kind])
	}
	text := canonical(out)
	if format == "yaml" {
		y, err := yaml.JSONToYAML([]byte(text))
		if err != nil {
			return err
		}
		text = strings.TrimSuffix(string(y), "\n")
	}
	fmt.Fprintln(w, text)
	return nil
}

func bodies(rs []resourceJSON) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.Body
	}
	return out
}

func clusterTable(w io.Writer, clusters []*clusterv3.Cluster) {
	fmt.Fprintln(w, "SERVICE FQDN\tPORT\tSUBSET\tDIRECTION\tTYPE\tLB POLICY")
	for _, c := range clusters {
		if c == nil {
			continue
		}
		direction, port, subset, fqdn := "-", "-", "-", c.Name
		if parts := strings.Split(c.Name, "|"); len(parts) == 4 {
			direction, port, subset, fqdn = parts[0], parts[1], orDash(parts[2]), orDash(parts[3])
		}
		typ := c.GetType().String()
		if c.GetEdsClusterConfig() != nil {
			typ = "EDS"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", fqdn, port, subset, direction, typ, c.GetLbPolicy())
	}
}

func endpointTable(w io.Writer, assignments []*endpointv3.ClusterLoadAssignment) {
	fmt.Fprintln(w, "ENDPOINT\tSTATUS\tWEIGHT\tLOCALITY\tPRIORITY\tCLUSTER")
	for _, a := range assignments {
		if a == nil {
			continue
		}
		if len(a.Endpoints) == 0 {
			fmt.Fprintf(w, "-\tno endpoints\t-\t-\t-\t%s\n", a.ClusterName)
		}
		for _, l := range a.Endpoints {
			loc := strings.Trim(strings.Join([]string{l.GetLocality().GetRegion(), l.GetLocality().GetZone(), l.GetLocality().GetSubZone()}, "/"), "/")
			for _, ep := range l.LbEndpoints {
				addr := ep.GetEndpoint().GetAddress().GetSocketAddress()
				weight := "1"
				if ep.GetLoadBalancingWeight() != nil {
					weight = fmt.Sprint(ep.GetLoadBalancingWeight().GetValue())
				}
				fmt.Fprintf(w, "%s:%d\t%s\t%s\t%s\t%d\t%s\n", addr.GetAddress(), addr.GetPortValue(), health(ep.GetHealthStatus()), weight,
					orDash(loc), l.GetPriority(), a.ClusterName)
			}
		}
	}
}

func health(h corev3.HealthStatus) string {
	if h == corev3.HealthStatus_UNKNOWN {
		return "HEALTHY" // Envoy's reading of an endpoint without health checks
	}
	return h.String()
}

func listenerTable(w io.Writer, listeners []*listenerv3.Listener) {
	fmt.Fprintln(w, "NAME\tADDRESS\tPORT\tTYPE\tDESTINATION")
	for _, l := range listeners {
		if l == nil {
			continue
		}
		if api := l.GetApiListener(); api != nil {
			var hcm hcmv3.HttpConnectionManager
			dest := "-"
			if api.GetApiListener().UnmarshalTo(&hcm) == nil {
				dest = hcmDestination(&hcm)
			}
			fmt.Fprintf(w, "%s\t-\t-\tAPI (gRPC)\t%s\n", l.Name, dest)
			continue
		}
		sa := l.GetAddress().GetSocketAddress()
		for _, fc := range l.FilterChains {
			typ, dest := "TCP", "-"
			for _, f := range fc.Filters {
				switch m := unpack[proto.Message](f.GetTypedConfig()).(type) {
				case *hcmv3.HttpConnectionManager:
					typ, dest = "HTTP", hcmDestination(m)
				case *tcpv3.TcpProxy:
					dest = "Cluster: " + m.GetCluster()
					if wc := m.GetWeightedClusters(); wc != nil {
						dest = "Clusters: " + fmt.Sprint(len(wc.Clusters))
					}
				}
			}
			if match := fc.GetFilterChainMatch(); match != nil && match.GetDestinationPort() != nil {
				dest += fmt.Sprintf(" (port %d)", match.GetDestinationPort().GetValue())
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", l.Name, sa.GetAddress(), sa.GetPortValue(), typ, dest)
		}
	}
}

func hcmDestination(h *hcmv3.HttpConnectionManager) string {
	if rds := h.GetRds(); rds != nil {
		return "Route: " + rds.GetRouteConfigName()
	}
	if rc := h.GetRouteConfig(); rc != nil {
		return "Inline route: " + orDash(rc.Name)
	}
	return "-"
}

func routeTable(w io.Writer, routes []*routev3.RouteConfiguration) {
	fmt.Fprintln(w, "NAME\tVIRTUAL HOST\tDOMAINS\tMATCH\tDESTINATION")
	for _, rc := range routes {
		if rc == nil {
			continue
		}
		for _, vh := range rc.VirtualHosts {
			domains := strings.Join(vh.Domains, ",")
			if len(domains) > 40 {
				domains = vh.Domains[0] + fmt.Sprintf(" +%d more", len(vh.Domains)-1)
			}
			for _, r := range vh.Routes {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", rc.Name, vh.Name, domains, routeMatch(r.GetMatch()), routeAction(r))
			}
		}
	}
}

func routeMatch(m *routev3.RouteMatch) string {
	var s string
	switch {
	case m.GetPath() != "":
		s = m.GetPath()
	case m.GetSafeRegex() != nil:
		s = "~" + m.GetSafeRegex().GetRegex()
	case m.GetPathSeparatedPrefix() != "":
		s = m.GetPathSeparatedPrefix() + "/*"
	default:
		s = m.GetPrefix() + "*"
	}
	if n := len(m.GetHeaders()); n > 0 {
		var names []string
		for _, h := range m.GetHeaders() {
			names = append(names, h.GetName())
		}
		s += " [headers: " + strings.Join(names, ",") + "]"
	}
	return s
}

func routeAction(r *routev3.Route) string {
	switch {
	case r.GetRoute().GetCluster() != "":
		return r.GetRoute().GetCluster()
	case r.GetRoute().GetWeightedClusters() != nil:
		var parts []string
		for _, c := range r.GetRoute().GetWeightedClusters().GetClusters() {
			parts = append(parts, fmt.Sprintf("%s %d", c.GetName(), c.GetWeight().GetValue()))
		}
		return strings.Join(parts, ", ")
	case r.GetRedirect() != nil:
		return "redirect"
	case r.GetDirectResponse() != nil:
		return fmt.Sprintf("direct response %d", r.GetDirectResponse().GetStatus())
	}
	return "-"
}

// diffSince writes what changed in a proxy's config since a dump saved earlier.
func diffSince(w io.Writer, path string, raw []byte, node string) error {
	saved, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, err := dumpResources(saved)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	after, err := dumpResources(raw)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	n := configDiff(&out, before, after)
	if n == 0 {
		fmt.Fprintf(w, "No change for %s since %s.\n", node, path)
		return nil
	}
	fmt.Fprintf(w, "%s was sent %d changed resource(s) since %s:\n", node, n, path)
	_, err = w.Write(out.Bytes())
	return err
}
