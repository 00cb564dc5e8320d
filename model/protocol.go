package model

import "strings"

// Protocol is the application protocol of a port, as Istio names it.
type Protocol string

// The protocols Istio knows. Unknown and TCP ports are proxied as opaque TCP.
const (
	ProtocolHTTP    Protocol = "HTTP"
	ProtocolHTTP2   Protocol = "HTTP2"
	ProtocolGRPC    Protocol = "GRPC"
	ProtocolGRPCWeb Protocol = "GRPC-Web"
	ProtocolHTTPS   Protocol = "HTTPS"
	ProtocolTLS     Protocol = "TLS"
	ProtocolTCP     Protocol = "TCP"
	ProtocolUDP     Protocol = "UDP"
	ProtocolMongo   Protocol = "Mongo"
	ProtocolRedis   Protocol = "Redis"
	ProtocolMySQL   Protocol = "MySQL"
	// ProtocolUnsupported is a port whose protocol is not declared: sidecars sniff it (HTTP is
	// routed as HTTP, the rest proxied as TCP); gateways and gRPC clients take it as TCP.
	ProtocolUnsupported Protocol = "UnsupportedProtocol"
)

var protocolsByLowerName = map[string]Protocol{
	"http":     ProtocolHTTP,
	"http2":    ProtocolHTTP2,
	"h2c":      ProtocolHTTP2,
	"grpc":     ProtocolGRPC,
	"grpc-web": ProtocolGRPCWeb,
	"https":    ProtocolHTTPS,
	"tls":      ProtocolTLS,
	"tcp":      ProtocolTCP,
	"udp":      ProtocolUDP,
	"mongo":    ProtocolMongo,
	"redis":    ProtocolRedis,
	"mysql":    ProtocolMySQL,
	// Kubernetes' well-known appProtocol values.
	"kubernetes.io/h2c": ProtocolHTTP2,
	"kubernetes.io/ws":  ProtocolHTTP,
	"kubernetes.io/wss": ProtocolHTTPS,
}

// ParseProtocol reads a protocol name case-insensitively ("http", "GRPC", "kubernetes.io/h2c").
func ParseProtocol(s string) Protocol {
	if p, ok := protocolsByLowerName[strings.ToLower(s)]; ok {
		return p
	}
	return ProtocolUnsupported
}

// ProtocolForPort tells a Kubernetes service port's protocol as Istio's ConvertProtocol does:
// appProtocol first, then the port name's prefix ("http-web", "grpc"), and UDP from the L4 protocol.
// When nothing says more, the protocol is ProtocolUnsupported: sidecars detect it per connection
// (HTTP/1.1 and h2c are routed as HTTP, anything else as TCP), except on the well-known ports of
// SMTP, DNS and MySQL, which are TCP.
func ProtocolForPort(appProtocol *string, portName, l4Protocol string, port int32) Protocol {
	if strings.EqualFold(l4Protocol, "UDP") {
		return ProtocolUDP
	}
	name := portName
	if appProtocol != nil && *appProtocol != "" {
		name = *appProtocol
		switch strings.ToLower(name) {
		case "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss":
			return ParseProtocol(name)
		}
	}
	lower := strings.ToLower(name)
	if lower == "grpc-web" || strings.HasPrefix(lower, "grpc-web-") { // the one prefix with a dash in it
		return ProtocolGRPCWeb
	}
	prefix, _, _ := strings.Cut(lower, "-")
	if p := ParseProtocol(prefix); p != ProtocolUnsupported && p != ProtocolUDP {
		return p
	}
	switch port {
	case 25, 53, 3306: // SMTP, DNS, MySQL: server-first protocols that sniffing would stall
		return ProtocolTCP
	}
	return ProtocolUnsupported
}

// Sniffed says whether a port's protocol is detected per connection (no protocol was declared).
func (p Protocol) Sniffed() bool { return p == ProtocolUnsupported }

// IsHTTP says whether the protocol is routed at L7 with an HTTP connection manager.
func (p Protocol) IsHTTP() bool {
	switch p {
	case ProtocolHTTP, ProtocolHTTP2, ProtocolGRPC, ProtocolGRPCWeb:
		return true
	}
	return false
}

// IsHTTP2 says whether the upstream speaks HTTP/2.
func (p Protocol) IsHTTP2() bool { return p == ProtocolHTTP2 || p == ProtocolGRPC }

// IsTLS says whether connections are TLS that the proxy does not terminate.
func (p Protocol) IsTLS() bool { return p == ProtocolHTTPS || p == ProtocolTLS }
