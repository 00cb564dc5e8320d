package k8s

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	crdvalidation "github.com/minipilot/minipilot/crds/validation"
)

// The checks here are the API server's, for the fields conversion reads: objects read from files
// never went through it, and what a cluster stores can still surprise (an older server, a bug). What
// fails is left out with a problem that names the field, so that one bad object (or one bad port or
// address within it) never costs the proxies anything else.

// problems collects what is wrong with one object, each with the field as a path.
type problems []crdvalidation.Problem

func (ps *problems) addf(field, format string, args ...any) {
	*ps = append(*ps, crdvalidation.Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// name checks a name against one of apimachinery's rules (IsDNS1035Label, IsDNS1123Label, ...);
// what is named (a Service name, a namespace) goes in the message, and what failing costs after it.
func (ps *problems) name(field, value, what string, rule func(string) []string, consequence string) bool {
	if errs := rule(value); len(errs) > 0 {
		ps.addf(field, "%q is not a valid %s: %s%s", value, what, strings.Join(errs, "; "), then(consequence))
		return false
	}
	return true
}

// objectName checks metadata.name and metadata.namespace of a namespaced object.
func (ps *problems) objectName(name, namespace, what string, rule func(string) []string) bool {
	ok := ps.name("metadata.name", name, what+" name", rule, "")
	return ps.name("metadata.namespace", namespace, "namespace name", validation.IsDNS1123Label, "") && ok
}

// labels checks label keys and values as the API server does.
func (ps *problems) labels(field string, labels map[string]string) bool {
	ok := true
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			ps.addf(field+"["+k+"]", "%q is not a valid label key: %s", k, strings.Join(errs, "; "))
			ok = false
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			ps.addf(field+"["+k+"]", "%q is not a valid label value: %s", labels[k], strings.Join(errs, "; "))
			ok = false
		}
	}
	return ok
}

// port checks a port number: 1..65535.
func (ps *problems) port(field string, n int64, consequence string) bool {
	if n < 1 || n > 65535 {
		ps.addf(field, "port %d is outside 1..65535%s", n, then(consequence))
		return false
	}
	return true
}

// protocol checks a port's protocol; empty means TCP, the API server's default.
func (ps *problems) protocol(field, proto, consequence string) bool {
	switch proto {
	case "", "TCP", "UDP", "SCTP":
		return true
	}
	ps.addf(field, "%q is not TCP, UDP or SCTP%s", proto, then(consequence))
	return false
}

// ipFamily is what kind of IP address a field holds.
type ipFamily int

const (
	anyIP ipFamily = iota
	ipv4
	ipv6
)

func (f ipFamily) String() string {
	switch f {
	case ipv4:
		return "IPv4 address"
	case ipv6:
		return "IPv6 address"
	}
	return "IP address"
}

// ip checks an address: an IP of the family, without a zone, in the text Envoy and the API server
// read the same way (no IPv4 octet with a leading zero, which some parsers take for octal).
func (ps *problems) ip(field, addr string, family ipFamily, consequence string) bool {
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil, a.Zone() != "",
		family == ipv4 && !a.Is4(),
		family == ipv6 && (!a.Is6() || a.Is4In6()):
		ps.addf(field, "%q is not a valid %s%s", addr, family, then(consequence))
		return false
	}
	return true
}

// then appends what a problem costs ("the port is left out") to its reason.
func then(consequence string) string {
	if consequence == "" {
		return ""
	}
	return "; " + consequence
}

// maxProblemsShown keeps one rejection readable when a generated object is wrong everywhere.
const maxProblemsShown = 10

// reason joins the problems into one rejection reason.
func (ps problems) reason() string {
	shown := ps
	if len(shown) > maxProblemsShown {
		shown = shown[:maxProblemsShown]
	}
	msgs := make([]string, len(shown))
	for i, p := range shown {
		msgs[i] = p.String()
	}
	out := strings.Join(msgs, "; ")
	if len(ps) > len(shown) {
		out += fmt.Sprintf("; and %d more", len(ps)-len(shown))
	}
	return out
}
