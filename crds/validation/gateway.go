package validation

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
)

var (
	serverTLSModes   = []string{"PASSTHROUGH", "SIMPLE", "MUTUAL"}
	tlsVersionNames  = []string{"TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"}
	unsupportedModes = map[string]string{
		"AUTO_PASSTHROUGH": "AUTO_PASSTHROUGH routes by Istio's internal SNI names for multi-network meshes, which minipilot does not build",
		"ISTIO_MUTUAL":     "ISTIO_MUTUAL needs Istio's certificate authority, which minipilot does not run; use MUTUAL with file paths",
		"OPTIONAL_MUTUAL":  "OPTIONAL_MUTUAL is not supported by minipilot; use SIMPLE or MUTUAL",
	}
)

// Gateway validates a Gateway spec.
func Gateway(gw *networking.Gateway) Result {
	var r Result
	spec := path("spec")
	if gw == nil {
		r.errorf(spec, "spec is required")
		return r
	}
	if !r.noNulls(spec, gw) {
		return r
	}
	if len(gw.Servers) == 0 {
		r.errorf(spec.f("servers"), "at least one server is required")
	}
	r.labels(spec.f("selector"), gw.Selector)
	type listener struct {
		protocol string
		index    int
	}
	byPort := map[string]listener{}
	portNames := map[string]uint32{}
	for i, s := range gw.Servers {
		sp := spec.f("servers").i(i)
		if s.Port == nil || s.Port.Number == 0 {
			r.errorf(sp.f("port").f("number"), "a server needs a port number")
			continue
		}
		r.server(sp, s)
		proto := strings.ToUpper(s.Port.Protocol)
		key := fmt.Sprintf("%s:%d", s.Bind, s.Port.Number)
		if prev, ok := byPort[key]; ok && isHTTPName(prev.protocol) != isHTTPName(proto) {
			r.errorf(sp.f("port").f("protocol"), "port %d is %s in servers[%d]; plain HTTP and TLS or TCP cannot share a port",
				s.Port.Number, prev.protocol, prev.index)
		} else if !ok {
			byPort[key] = listener{protocol: proto, index: i}
		}
		if n, ok := portNames[s.Port.Name]; ok && s.Port.Name != "" && n != s.Port.Number {
			r.errorf(sp.f("port").f("name"), "port name %q already names port %d", s.Port.Name, n)
		}
		portNames[s.Port.Name] = s.Port.Number
	}
	return r
}

func isHTTPName(proto string) bool {
	return slices.Contains([]string{"HTTP", "HTTP2", "GRPC", "GRPC-WEB"}, proto)
}

func (r *Result) server(sp path, s *networking.Server) {
	r.port(sp.f("port").f("number"), s.Port.Number)
	proto := strings.ToUpper(s.Port.Protocol)
	if !slices.Contains(protocols, proto) || proto == "UDP" {
		r.errorf(sp.f("port").f("protocol"), "%q is not a gateway protocol (want one of HTTP, HTTPS, GRPC, HTTP2, GRPC-WEB, TLS, TCP, MONGO, REDIS, MYSQL)", s.Port.Protocol)
	}
	if s.Port.TargetPort != 0 {
		r.errorf(sp.f("port").f("targetPort"), "targetPort applies only to ServiceEntry ports")
	}
	if s.DefaultEndpoint != "" {
		r.errorf(sp.f("defaultEndpoint"), "defaultEndpoint applies only to Sidecar ingress listeners")
	}
	if s.Bind != "" {
		if _, err := netip.ParseAddr(s.Bind); err != nil {
			r.errorf(sp.f("bind"), "%q is not an IP address (Unix domain sockets are not supported by minipilot)", s.Bind)
		}
	}
	if len(s.Hosts) == 0 {
		r.errorf(sp.f("hosts"), "at least one host is required")
	}
	for j, h := range s.Hosts {
		host := h
		if ns, after, ok := strings.Cut(h, "/"); ok { // "namespace/host"
			host = after
			if ns != "." && ns != "*" && !dnsLabel.MatchString(ns) {
				r.errorf(sp.f("hosts").i(j), "%q: the namespace part must be \".\", \"*\" or a namespace name", h)
			}
		}
		r.host(sp.f("hosts").i(j), host, true)
	}
	r.serverTLS(sp.f("tls"), proto, s.TLS)
}

func (r *Result) serverTLS(tp path, proto string, t *networking.ServerTLSSettings) {
	if t == nil {
		if proto == "HTTPS" || proto == "TLS" {
			r.errorf(tp, "a %s server needs tls settings (mode SIMPLE, MUTUAL or PASSTHROUGH)", proto)
		}
		return
	}
	if isHTTPName(proto) {
		if t.Mode != "" || t.ServerCertificate != "" || t.PrivateKey != "" || t.CaCertificates != "" || t.CredentialName != "" {
			r.errorf(tp, "a plain %s server does not terminate TLS; only httpsRedirect applies to it", proto)
		}
		return
	}
	if t.HTTPSRedirect {
		r.errorf(tp.f("httpsRedirect"), "httpsRedirect applies to plain HTTP servers")
	}
	if reason, ok := unsupportedModes[t.Mode]; ok {
		r.errorf(tp.f("mode"), "%s", reason)
		return
	}
	if !slices.Contains(serverTLSModes, tlsMode(t)) {
		r.errorf(tp.f("mode"), "%q is not a TLS mode (want one of %v)", t.Mode, serverTLSModes)
		return
	}
	if proto != "HTTPS" && proto != "TLS" {
		r.errorf(tp.f("mode"), "TLS settings need an HTTPS or TLS server, not %s", proto)
	}
	if t.CredentialName != "" {
		r.errorf(tp.f("credentialName"), "credentialName needs an SDS server, which minipilot does not run; use serverCertificate and privateKey (file paths)")
	}
	switch tlsMode(t) {
	case "PASSTHROUGH":
		if t.ServerCertificate != "" || t.PrivateKey != "" || t.CaCertificates != "" {
			r.errorf(tp, "PASSTHROUGH forwards TLS without terminating it; certificates would not be used")
		}
		return
	case "MUTUAL":
		if t.CaCertificates == "" {
			r.errorf(tp.f("caCertificates"), "MUTUAL mode verifies client certificates against caCertificates, which is required")
		}
	case "SIMPLE":
		if t.CaCertificates != "" || len(t.SubjectAltNames) > 0 {
			r.errorf(tp, "caCertificates and subjectAltNames verify client certificates, which only MUTUAL mode asks for")
		}
	}
	if t.CredentialName == "" && (t.ServerCertificate == "" || t.PrivateKey == "") {
		r.errorf(tp, "%s mode needs serverCertificate and privateKey (file paths)", tlsMode(t))
	}
	for _, v := range []struct{ field, value string }{{"minProtocolVersion", t.MinProtocolVersion}, {"maxProtocolVersion", t.MaxProtocolVersion}} {
		if v.value != "" && !slices.Contains(tlsVersionNames, v.value) {
			r.errorf(tp.f(v.field), "%q is not a TLS version (want one of %v)", v.value, tlsVersionNames)
		}
	}
	if lo, hi := slices.Index(tlsVersionNames, t.MinProtocolVersion), slices.Index(tlsVersionNames, t.MaxProtocolVersion); lo > 0 && hi > 0 && lo > hi {
		r.errorf(tp.f("minProtocolVersion"), "%s is above maxProtocolVersion %s", t.MinProtocolVersion, t.MaxProtocolVersion)
	}
	for i, c := range t.CipherSuites {
		if c == "" || strings.ContainsAny(c, " ,") {
			r.errorf(tp.f("cipherSuites").i(i), "%q is not a cipher suite name", c)
		}
	}
}

// tlsMode is the server's TLS mode; unset is PASSTHROUGH, the first value of Istio's enum.
func tlsMode(t *networking.ServerTLSSettings) string { return cmpOr(t.Mode, "PASSTHROUGH") }
