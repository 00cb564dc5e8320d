package validation

import (
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
)

func seSpec(t *testing.T, text string) *networking.ServiceEntry {
	t.Helper()
	var se networking.ServiceEntry
	if err := yaml.UnmarshalStrict([]byte(text), &se); err != nil {
		t.Fatalf("bad test spec: %v\n%s", err, text)
	}
	return &se
}

func gwSpec(t *testing.T, text string) *networking.Gateway {
	t.Helper()
	var gw networking.Gateway
	if err := yaml.UnmarshalStrict([]byte(text), &gw); err != nil {
		t.Fatalf("bad test spec: %v\n%s", err, text)
	}
	return &gw
}

const httpsPort = "ports: [{number: 443, name: https, protocol: TLS}]\n"

func TestServiceEntryRefusals(t *testing.T) {
	cases := []struct {
		name, spec, field, reason string
	}{
		{"no hosts", httpsPort, "spec.hosts", "at least one host"},
		{"catch-all host", "hosts: ['*']\n" + httpsPort, "spec.hosts[0]", "would capture every destination"},
		{"bad host", "hosts: [api_example.com]\n" + httpsPort, "spec.hosts[0]", "not a valid host name"},
		{"unknown resolution", "hosts: [a.example.com]\nresolution: MAGIC\n" + httpsPort, "spec.resolution", "is not a resolution"},
		{"unknown location", "hosts: [a.example.com]\nlocation: OUTSIDE\n" + httpsPort, "spec.location", "is not a location"},
		{"bad address", "hosts: [a.example.com]\naddresses: [10.0.0.300]\n" + httpsPort, "spec.addresses[0]", "neither an IP address nor a CIDR"},
		{"CIDR with DNS", "hosts: [a.example.com]\naddresses: [10.0.0.0/24]\nresolution: DNS\n" + httpsPort, "spec.addresses[0]", "needs resolution NONE or STATIC"},
		{"no ports", "hosts: [a.example.com]", "spec.ports", "at least one port"},
		{"port out of range", "hosts: [a.example.com]\nports: [{number: 70000, name: p, protocol: TCP}]", "spec.ports[0].number", "outside 1..65535"},
		{"port twice", "hosts: [a.example.com]\nports: [{number: 80, name: a, protocol: HTTP}, {number: 80, name: b, protocol: HTTP}]", "spec.ports[1].number", "defined twice"},
		{"port name twice", "hosts: [a.example.com]\nports: [{number: 80, name: a, protocol: HTTP}, {number: 81, name: a, protocol: HTTP}]", "spec.ports[1].name", "used twice"},
		{"unknown protocol", "hosts: [a.example.com]\nports: [{number: 80, name: a, protocol: QUIC}]", "spec.ports[0].protocol", "is not a protocol"},
		{"targetPort with NONE", "hosts: [a.example.com]\nports: [{number: 80, name: a, protocol: HTTP, targetPort: 8080}]", "spec.ports[0].targetPort", "cannot apply"},
		{"endpoints with NONE", "hosts: [a.example.com]\n" + httpsPort + "endpoints: [{address: 1.2.3.4}]", "spec.endpoints", "would not be used"},
		{"STATIC endpoint name", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: a.example.com}]", "spec.endpoints[0].address", "not an IP address"},
		{"DNS wildcard without endpoints", "hosts: ['*.example.com']\nresolution: DNS\n" + httpsPort, "spec.hosts[0]", "must not be a wildcard"},
		{"DNS_ROUND_ROBIN with two endpoints", "hosts: [a.example.com]\nresolution: DNS_ROUND_ROBIN\n" + httpsPort + "endpoints: [{address: a1.example.com}, {address: a2.example.com}]",
			"spec.endpoints", "at most one endpoint"},
		{"several hosts on TCP", "hosts: [a.example.com, b.example.com]\nresolution: DNS\nports: [{number: 5432, name: pg, protocol: TCP}]", "spec.ports[0].protocol", "only HTTP and TLS can tell hosts apart"},
		{"endpoint port name unknown", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4, ports: {http: 8080}}]",
			"spec.endpoints[0].ports[http]", "not the name of one of the entry's ports"},
		{"endpoint locality", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4, locality: 'eu//z'}]",
			"spec.endpoints[0].locality", "not region/zone/subzone"},
		{"endpoint network", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4, network: n2}]",
			"spec.endpoints[0].network", "multi-network"},
		{"endpoint service account", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4, serviceAccount: sa}]",
			"spec.endpoints[0].serviceAccount", "certificate authority"},
		{"unix endpoint", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 'unix:///var/run/a.sock'}]",
			"spec.endpoints[0].address", "Unix domain socket"},
		{"selector and endpoints", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4}]\nworkloadSelector: {labels: {app: a}}",
			"spec", "only one of endpoints and workloadSelector"},
		{"selector with DNS", "hosts: [a.example.com]\nresolution: DNS\n" + httpsPort + "workloadSelector: {labels: {app: a}}",
			"spec.workloadSelector", "only STATIC resolution uses"},
		{"endpoint weights overflow", "hosts: [a.example.com]\nresolution: STATIC\n" + httpsPort + "endpoints: [{address: 1.2.3.4, weight: 4294967295}, {address: 1.2.3.5, weight: 1}]",
			"spec.endpoints", "more than 4294967295"},
		{"exportTo duplicate", "hosts: [a.example.com]\n" + httpsPort + "exportTo: [a, a]", "spec.exportTo[1]", "listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ServiceEntry(seSpec(t, tc.spec))
			if !problemAt(res.Errors, tc.field, tc.reason) {
				t.Errorf("want an error at %s containing %q, got %v", tc.field, tc.reason, res.Errors)
			}
		})
	}
}

func TestServiceEntryValid(t *testing.T) {
	for name, spec := range map[string]string{
		"external TLS passthrough": "hosts: [api.example.com, '*.googleapis.com']\nports: [{number: 443, name: tls, protocol: TLS}]\nlocation: MESH_EXTERNAL",
		"DNS with endpoints": `hosts: [db.example.com]
resolution: DNS
ports: [{number: 5432, name: pg, protocol: TCP, targetPort: 6432}]
endpoints: [{address: db1.example.com, locality: eu/z1, weight: 3, labels: {role: primary}}, {address: 10.0.0.1, ports: {pg: 7432}}]
subjectAltNames: [db.example.com]
exportTo: ["."]`,
		"STATIC internal":   "hosts: [legacy.internal]\nresolution: STATIC\nlocation: MESH_INTERNAL\naddresses: [240.0.0.1, 10.10.0.0/16]\nports: [{number: 80, name: http, protocol: http}]\nendpoints: [{address: 10.10.0.5}]",
		"workload selector": "hosts: [vm.internal]\nresolution: STATIC\nlocation: MESH_INTERNAL\nports: [{number: 8080, name: http, protocol: HTTP}]\nworkloadSelector: {labels: {app: vm}}",
		"DNS round robin":   "hosts: [api.example.com]\nresolution: DNS_ROUND_ROBIN\nports: [{number: 80, name: http, protocol: HTTP}]",
	} {
		t.Run(name, func(t *testing.T) {
			res := ServiceEntry(seSpec(t, spec))
			if err := res.Err(); err != nil || len(res.Warnings) > 0 {
				t.Errorf("want valid, got %v / %v", err, res.Warnings)
			}
		})
	}
}

func TestGatewayRefusals(t *testing.T) {
	const hosts = "hosts: ['*']"
	cases := []struct {
		name, spec, field, reason string
	}{
		{"no servers", "selector: {istio: ingressgateway}", "spec.servers", "at least one server"},
		{"no port", "servers: [{" + hosts + "}]", "spec.servers[0].port.number", "needs a port number"},
		{"bad protocol", "servers: [{port: {number: 80, name: u, protocol: UDP}, " + hosts + "}]", "spec.servers[0].port.protocol", "not a gateway protocol"},
		{"no hosts", "servers: [{port: {number: 80, name: http, protocol: HTTP}}]", "spec.servers[0].hosts", "at least one host"},
		{"bad host namespace", "servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['Prod_x/a.example.com']}]", "spec.servers[0].hosts[0]", "namespace part"},
		{"HTTPS without tls", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + "}]", "spec.servers[0].tls", "needs tls settings"},
		{"SIMPLE without key", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: SIMPLE, serverCertificate: /c.pem}}]",
			"spec.servers[0].tls", "needs serverCertificate and privateKey"},
		{"SIMPLE without certificate", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: SIMPLE, privateKey: /k.pem}}]",
			"spec.servers[0].tls", "needs serverCertificate and privateKey"},
		{"SIMPLE without either", "servers: [{port: {number: 443, name: https, protocol: TLS}, " + hosts + ", tls: {mode: SIMPLE}}]",
			"spec.servers[0].tls", "needs serverCertificate and privateKey"},
		{"MUTUAL without certificate", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: MUTUAL, privateKey: /k.pem, caCertificates: /ca.pem}}]",
			"spec.servers[0].tls", "needs serverCertificate and privateKey"},
		{"SIMPLE with credentialName only", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: SIMPLE, credentialName: cert}}]",
			"spec.servers[0].tls.credentialName", "use serverCertificate and privateKey"},
		{"MUTUAL without CA", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem}}]",
			"spec.servers[0].tls.caCertificates", "required"},
		{"ISTIO_MUTUAL", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: ISTIO_MUTUAL}}]", "spec.servers[0].tls.mode", "certificate authority"},
		{"AUTO_PASSTHROUGH", "servers: [{port: {number: 15443, name: tls, protocol: TLS}, " + hosts + ", tls: {mode: AUTO_PASSTHROUGH}}]", "spec.servers[0].tls.mode", "multi-network"},
		{"credentialName", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: SIMPLE, credentialName: cert}}]", "spec.servers[0].tls.credentialName", "SDS"},
		{"TLS on plain HTTP", "servers: [{port: {number: 80, name: http, protocol: HTTP}, " + hosts + ", tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}}]",
			"spec.servers[0].tls", "only httpsRedirect applies"},
		{"redirect on HTTPS", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {httpsRedirect: true, mode: PASSTHROUGH}}]",
			"spec.servers[0].tls.httpsRedirect", "plain HTTP servers"},
		{"certificates with PASSTHROUGH", "servers: [{port: {number: 443, name: tls, protocol: TLS}, " + hosts + ", tls: {mode: PASSTHROUGH, serverCertificate: /c}}]",
			"spec.servers[0].tls", "would not be used"},
		{"min above max", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, " + hosts + ", tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k, minProtocolVersion: TLSV1_3, maxProtocolVersion: TLSV1_2}}]",
			"spec.servers[0].tls.minProtocolVersion", "above maxProtocolVersion"},
		{"HTTP and TLS on one port", "servers: [{port: {number: 8443, name: a, protocol: HTTP}, " + hosts + "}, {port: {number: 8443, name: b, protocol: TLS}, " + hosts + ", tls: {mode: PASSTHROUGH}}]",
			"spec.servers[1].port.protocol", "cannot share a port"},
		{"bind not an IP", "servers: [{port: {number: 80, name: http, protocol: HTTP}, " + hosts + ", bind: localhost}]", "spec.servers[0].bind", "not an IP address"},
		{"bind a unix socket", "servers: [{port: {number: 80, name: http, protocol: HTTP}, " + hosts + ", bind: 'unix:///var/run/gw.sock'}]", "spec.servers[0].bind", "Unix domain sockets are not supported"},
		{"bind a CIDR", "servers: [{port: {number: 80, name: http, protocol: HTTP}, " + hosts + ", bind: 10.0.0.0/8}]", "spec.servers[0].bind", "not an IP address"},
		{"port above 65535", "servers: [{port: {number: 65536, name: http, protocol: HTTP}, " + hosts + "}]", "spec.servers[0].port.number", "outside 1..65535"},
		{"port zero", "servers: [{port: {number: 0, name: http, protocol: HTTP}, " + hosts + "}]", "spec.servers[0].port.number", "needs a port number"},
		{"defaultEndpoint", "servers: [{port: {number: 80, name: http, protocol: HTTP}, " + hosts + ", defaultEndpoint: '127.0.0.1:8080'}]",
			"spec.servers[0].defaultEndpoint", "Sidecar ingress"},
		{"targetPort", "servers: [{port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}, " + hosts + "}]", "spec.servers[0].port.targetPort", "ServiceEntry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Gateway(gwSpec(t, tc.spec))
			if !problemAt(res.Errors, tc.field, tc.reason) {
				t.Errorf("want an error at %s containing %q, got %v", tc.field, tc.reason, res.Errors)
			}
		})
	}
}

func TestGatewayValid(t *testing.T) {
	res := Gateway(gwSpec(t, `selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["bookinfo/*.example.com", "./web.example.com"]
  tls: {httpsRedirect: true}
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: ["*/bookinfo.example.com"]
  tls: {mode: MUTUAL, serverCertificate: /etc/c.pem, privateKey: /etc/k.pem, caCertificates: /etc/ca.pem, subjectAltNames: [client.example.com], minProtocolVersion: TLSV1_2, maxProtocolVersion: TLSV1_3, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]}
- port: {number: 443, name: https-passthrough, protocol: TLS}
  hosts: [db.example.com]
  tls: {mode: PASSTHROUGH}
- port: {number: 5432, name: pg, protocol: TCP}
  hosts: ["*"]
  bind: 10.0.0.1
`))
	if err := res.Err(); err != nil || len(res.Warnings) > 0 {
		t.Errorf("want valid, got %v / %v", err, res.Warnings)
	}
}
