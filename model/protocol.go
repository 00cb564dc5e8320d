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
	// ProtocolUnsupported is a port whose protocol could not be told; it is proxied as TCP.
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

// ProtocolForPort tells a Kubernetes service port's protocol as Istio does: appProtocol first, then the
// port name's prefix ("http-web", "grpc"), and UDP from the L4 protocol; TCP when nothing says more.
func ProtocolForPort(appProtocol *string, portName, l4Protocol string) Protocol {
	if strings.EqualFold(l4Protocol, "UDP") {
		return ProtocolUDP
	}
	if appProtocol != nil && *appProtocol != "" {
		if p := ParseProtocol(*appProtocol); p != ProtocolUnsupported {
			return p
		}
	}
	lower := strings.ToLower(portName)
	if lower == "grpc-web" || strings.HasPrefix(lower, "grpc-web-") { // the one prefix with a dash in it
		return ProtocolGRPCWeb
	}
	prefix, _, _ := strings.Cut(lower, "-")
	if p := ParseProtocol(prefix); p != ProtocolUnsupported && p != ProtocolUDP {
		return p
	}
	return ProtocolTCP
}

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
