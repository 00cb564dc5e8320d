package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// applyTLS originates TLS to the upstream (DestinationRule tls SIMPLE or MUTUAL) with certificates
// read from files on the proxy's host, as Istio's constructUpstreamTLS does:
//   - the server certificate is verified against caCertificates, unless insecureSkipVerify; Istio
//     falls back to the system's roots when caCertificates is unset, which needs an agent minipilot
//     does not have, so that case is not verified and a warning says so;
//   - subjectAltNames (or else the ServiceEntry's) must match the server certificate;
//   - sni is sent as written; without it an HTTP cluster sends the request's host (auto_sni) and,
//     when it verifies and names no SAN, checks the certificate against that host (auto_san_validation);
//   - HTTP/2 clusters offer ALPN h2.
func (b *builder) applyTLS(c *clusterv3.Cluster, t *networking.ClientTLSSettings, svc *model.Service, port model.Port, http *httpOptions) {
	if t == nil || t.Mode == "" || t.Mode == networking.TLSDisable {
		return
	}
	if t.Mode != networking.TLSSimple && t.Mode != networking.TLSMutual {
		b.warnCluster(c.Name, "cluster %s: TLS mode %s is not supported; sent in plaintext", c.Name, t.Mode)
		return
	}
	if b.proxy.Proxyless {
		b.warnCluster(c.Name, "cluster %s: TLS origination for gRPC clients needs certificate providers in their bootstrap; sent in plaintext", c.Name)
		return
	}
	common := &tlsv3.CommonTlsContext{}
	skipVerify := t.InsecureSkipVerify != nil && *t.InsecureSkipVerify
	verify := t.CaCertificates != "" && !skipVerify
	sans := t.SubjectAltNames
	if len(sans) == 0 {
		sans = svc.SubjectAltNames
	}
	if verify {
		validation := &tlsv3.CertificateValidationContext{
			TrustedCa: fileSource(t.CaCertificates),
			// Any SAN type, as Istio matches them: only the deprecated field matches DNS, URI, IP and email.
			//lint:ignore SA1019 see above
			MatchSubjectAltNames: exactMatchers(sans),
		}
		if t.CaCrl != "" {
			validation.Crl = fileSource(t.CaCrl)
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: validation}
	} else if !skipVerify {
		b.warnCluster(c.Name, "cluster %s: TLS without caCertificates does not verify the server (Istio would use the system's roots): set caCertificates, or insecureSkipVerify: true to say so", c.Name)
	}
	if t.Mode == networking.TLSMutual {
		common.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(t.ClientCertificate),
			PrivateKey:       fileSource(t.PrivateKey),
		}}
	}
	if http.http2 || port.Protocol.IsHTTP2() {
		common.AlpnProtocols = []string{"h2"}
	}
	if t.Sni == "" && port.Protocol.IsHTTP() {
		autoSAN := verify && len(t.SubjectAltNames) == 0
		http.change(func(o *httpOptions) { o.autoSNI, o.autoSAN = true, autoSAN })
	}
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: common, Sni: t.Sni}
	c.TransportSocket = &corev3.TransportSocket{
		Name:       "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)},
	}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}

func exactMatchers(values []string) []*matcherv3.StringMatcher {
	out := make([]*matcherv3.StringMatcher, 0, len(values))
	for _, v := range values {
		out = append(out, exactMatcher(v))
	}
	return out
}
