package pilot

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagGroups orders --help by concern. A flag missing here is listed under "Other", so that a new
// flag is never hidden.
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Config sources (at least one)", []string{"config-dir", "kubeconfig", "in-cluster"}},
	{"Kubernetes", []string{"cluster-name", "watch-namespaces", "remote-kubeconfig", "leader-election-namespace"}},
	{"Serving", []string{"grpc-addr", "http-addr", "domain-suffix", "enable-profiling"}},
	{"Security (the secure xDS port)", []string{"secure-grpc-addr", "tls-cert", "tls-key", "self-signed-ca", "self-signed-ca-hosts",
		"namespace", "client-ca", "trust-domain", "token-audience", "xds-auth-allow"}},
	{"Mesh config", []string{"mesh-config", "mesh-configmap", "mesh-config-namespace"}},
	{"Pushing", []string{"debounce", "debounce-max", "endpoint-debounce", "endpoint-debounce-max"}},
	{"Connections and shutdown", []string{"max-connection-age", "max-connection-age-grace", "shutdown-grace"}},
	{"Logging", []string{"log-level", "log-format"}},
	{"Information", []string{"version", "help"}},
}

// PrintUsage writes --help: what the binary does, then its flags grouped by concern.
func PrintUsage(w io.Writer, fs *flag.FlagSet, summary string) {
	fmt.Fprintf(w, "%s\n\nUsage: %s [flags]\n", summary, fs.Name())
	listed := map[string]bool{}
	for _, g := range flagGroups {
		var lines []string
		for _, name := range g.flags {
			if f := fs.Lookup(name); f != nil {
				listed[name] = true
				lines = append(lines, FlagLine(f))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s:\n%s", g.title, strings.Join(lines, ""))
		}
	}
	var other []string
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] {
			other = append(other, FlagLine(f))
		}
	})
	if len(other) > 0 {
		fmt.Fprintf(w, "\nOther:\n%s", strings.Join(other, ""))
	}
}

// FlagLine is one flag of a --help: its name and kind, then its usage and default, indented.
func FlagLine(f *flag.Flag) string {
	name, usage := flag.UnquoteUsage(f)
	head := "  --" + f.Name
	if name != "" {
		head += " " + name
	}
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
		usage += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	return fmt.Sprintf("%s\n      %s\n", head, usage)
}
