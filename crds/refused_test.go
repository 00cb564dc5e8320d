package crds_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

const (
	vs = "VirtualService"
	dr = "DestinationRule"
	se = "ServiceEntry"
	gw = "Gateway"
	sc = "Sidecar"
)

// refused are mistakes that `kubectl apply` must refuse, each with a piece of the API server's
// message that names the field. Unless schemaOnly, minipilot's validator refuses them too.
var refused = []struct {
	name, kind string
	spec       string // the YAML under spec:, indented by two spaces
	want       string
	schemaOnly bool // the validator never sees it (decoding drops unknown fields)
}{
	// VirtualService.
	{name: "weight above 100", kind: vs, want: "spec.http[0].route[0].weight: Invalid value: 120: spec.http[0].route[0].weight in body should be less than or equal to 100", spec: `
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews}, weight: 120}`},
	{name: "negative weight", kind: vs, want: "spec.http[0].route[1].weight: Invalid value: -1: spec.http[0].route[1].weight in body should be greater than or equal to 0", spec: `
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 101}
    - {destination: {host: reviews, subset: v2}, weight: -1}`},
	{name: "null route", kind: vs, want: "spec.http[0].route[0] in body must be of type object", spec: `
  hosts: [reviews]
  http:
  - route: [null]`},
	{name: "tcp weight above 100", kind: vs, want: "spec.tcp[0].route[0].weight: Invalid value: 200", spec: `
  hosts: [mongo]
  tcp:
  - route:
    - {destination: {host: mongo}, weight: 200}`},
	{name: "destination without host", kind: vs, want: "spec.http[0].route[0].destination.host: Required value", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {subset: v1}`},
	{name: "empty destination host", kind: vs, want: "spec.http[0].route[0].destination.host: Invalid value: \"\": spec.http[0].route[0].destination.host in body should be at least 1 chars long", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: ""}`},
	{name: "route without destination", kind: vs, want: "spec.http[0].route[0].destination: Required value", spec: `
  hosts: [reviews]
  http:
  - route:
    - weight: 100`},
	{name: "malformed timeout", kind: vs, want: "spec.http[0].timeout: Invalid value: \"string\": must be a duration such as 1s, 250ms or 5m", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: abc`},
	{name: "malformed perTryTimeout", kind: vs, want: "spec.http[0].retries.perTryTimeout: Invalid value: \"string\": must be a duration", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 2, perTryTimeout: 1x}`},
	{name: "negative timeout", kind: vs, want: "spec.http[0].timeout: Invalid value: \"string\": must be a duration", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: -1s`},
	{name: "timeout as a number", kind: vs, want: "spec.http[0].timeout: Invalid value: \"integer\": spec.http[0].timeout in body must be of type string", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5`},
	{name: "exact and prefix", kind: vs, want: "spec.http[0].match[0].uri: Invalid value: \"object\": only one of exact, prefix and regex may be set", spec: `
  hosts: [reviews]
  http:
  - match:
    - uri: {exact: /a, prefix: /b}
    route:
    - destination: {host: reviews}`},
	{name: "header exact and regex", kind: vs, want: "spec.http[0].match[1].headers[end-user]: Invalid value: \"object\": only one of exact, prefix and regex may be set", spec: `
  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /}
    - headers:
        end-user: {exact: jason, regex: "j.*"}
    route:
    - destination: {host: reviews}`},
	{name: "route and redirect", kind: vs, want: "spec.http[0]: Invalid value: \"object\": only one of route, redirect, directResponse and delegate may be set", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    redirect: {uri: /elsewhere}`},
	{name: "redirect and directResponse", kind: vs, want: "only one of route, redirect, directResponse and delegate may be set", spec: `
  hosts: [reviews]
  http:
  - redirect: {uri: /elsewhere}
    directResponse: {status: 503}`},
	{name: "unknown redirect code", kind: vs, want: "spec.http[0].redirect.redirectCode: Unsupported value: 305", spec: `
  hosts: [reviews]
  http:
  - redirect: {uri: /elsewhere, redirectCode: 305}`},
	{name: "redirect port and derivePort", kind: vs, want: "spec.http[0].redirect: Invalid value: \"object\": only one of port and derivePort may be set", spec: `
  hosts: [reviews]
  http:
  - redirect: {port: 8080, derivePort: FROM_REQUEST_PORT}`},
	{name: "directResponse without status", kind: vs, want: "spec.http[0].directResponse.status: Required value", spec: `
  hosts: [reviews]
  http:
  - directResponse: {body: {string: hello}}`},
	{name: "directResponse status 700", kind: vs, want: "spec.http[0].directResponse.status: Invalid value: 700", spec: `
  hosts: [reviews]
  http:
  - directResponse: {status: 700}`},
	{name: "match port out of range", kind: vs, want: "spec.http[0].match[0].port: Invalid value: 70000: spec.http[0].match[0].port in body should be less than or equal to 65535", spec: `
  hosts: [reviews]
  http:
  - match:
    - port: 70000
    route:
    - destination: {host: reviews}`},
	{name: "destination port zero", kind: vs, want: "spec.http[0].route[0].destination.port.number: Invalid value: 0: spec.http[0].route[0].destination.port.number in body should be greater than or equal to 1", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, port: {number: 0}}`},
	{name: "fault percentage above 100", kind: vs, want: "spec.http[0].fault.abort.percentage.value: Invalid value: 150", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    fault:
      abort: {httpStatus: 503, percentage: {value: 150}}`},
	{name: "abort status 99", kind: vs, want: "spec.http[0].fault.abort.httpStatus: Invalid value: 99", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    fault:
      abort: {httpStatus: 99}`},
	{name: "negative retry attempts", kind: vs, want: "spec.http[0].retries.attempts: Invalid value: -1", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: -1}`},
	{name: "mirror and mirrors", kind: vs, want: "spec.http[0]: Invalid value: \"object\": only one of mirror and mirrors may be set", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    mirror: {host: reviews-shadow}
    mirrors:
    - destination: {host: reviews-shadow}`},
	{name: "rewrite uri and uriRegexRewrite", kind: vs, want: "spec.http[0].rewrite: Invalid value: \"object\": only one of uri and uriRegexRewrite may be set", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    rewrite: {uri: /, uriRegexRewrite: {match: "^/a", rewrite: /b}}`},
	{name: "tls route without sniHosts", kind: vs, want: "spec.tls[0].match[0].sniHosts: Required value", spec: `
  hosts: [reviews]
  tls:
  - match:
    - port: 443
    route:
    - destination: {host: reviews}`},
	{name: "misspelt weight", kind: vs, schemaOnly: true, want: `unknown field "spec.http[0].route[0].weigth"`, spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
      weigth: 100`},
	{name: "no spec", kind: vs, want: "spec: Required value"},

	// DestinationRule.
	{name: "unknown load balancer", kind: dr, want: "spec.trafficPolicy.loadBalancer.simple: Unsupported value: \"FASTEST\": supported values:", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: FASTEST}`},
	{name: "unknown TLS mode", kind: dr, want: "spec.trafficPolicy.tls.mode: Unsupported value: \"SOMETIMES\"", spec: `
  host: reviews
  trafficPolicy:
    tls: {mode: SOMETIMES}`},
	{name: "unknown TLS mode in a subset's port", kind: dr, want: "spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.mode: Unsupported value: \"SOMETIMES\"", spec: `
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        tls: {mode: SOMETIMES}`},
	{name: "ring size above Envoy's bound", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize in body should be less than or equal to 8388608", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 1099511627776}}}`},
	{name: "maglev table above Envoy's bound", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize in body should be less than or equal to 5000011", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 5000077}}}`},
	{name: "keepalive probes above Linux's bound", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes in body should be less than or equal to 127", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {tcpKeepalive: {probes: 128}}}`},
	{name: "deprecated ring size above Envoy's bound", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize in body should be less than or equal to 8388608", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 8388609}}`},
	{name: "connectTimeout zero", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.connectTimeout: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {connectTimeout: 0s}}`},
	{name: "connectTimeout not whole milliseconds", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.connectTimeout: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {connectTimeout: 1500us}}`},
	{name: "TCP maxConnectionDuration under 1ms", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {maxConnectionDuration: 999us}}`},
	{name: "TCP idleTimeout not whole milliseconds", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.idleTimeout: Invalid value: \"string\": must be under 1ms or in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {idleTimeout: 2.5ms}}`},
	{name: "HTTP idleTimeout zero", kind: dr, want: "spec.trafficPolicy.connectionPool.http.idleTimeout: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {http: {idleTimeout: "0"}}`},
	{name: "outlier interval zero", kind: dr, want: "spec.trafficPolicy.outlierDetection.interval: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    outlierDetection: {interval: 0s}`},
	{name: "port level baseEjectionTime zero", kind: dr, want: "spec.trafficPolicy.portLevelSettings[0].outlierDetection.baseEjectionTime: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      outlierDetection: {baseEjectionTime: 0ms}`},
	{name: "subset baseEjectionTime not whole milliseconds", kind: dr, want: "spec.subsets[0].trafficPolicy.outlierDetection.baseEjectionTime: Invalid value: \"string\": must be at least 1ms, in whole milliseconds", spec: `
  host: reviews
  subsets:
  - name: v1
    trafficPolicy:
      outlierDetection: {baseEjectionTime: 30.0005s}`},
	{name: "hash header name with a line break", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName: Invalid value: \"x\\nuser\": spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName in body should match", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: "x\nuser"}}`},
	{name: "hash cookie name with a line break", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: Invalid value: \"user\\r\\nx\": spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name in body should match", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpCookie: {name: "user\r\nx", ttl: 10s}}}`},
	{name: "null subset", kind: dr, want: "spec.subsets[0] in body must be of type object", spec: `
  host: reviews
  subsets: [null]`},
	{name: "duplicate subset names", kind: dr, want: `spec.subsets[1]: Duplicate value: {"name":"v1"}`, spec: `
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v1, labels: {version: v2}}`},
	{name: "subset without name", kind: dr, want: "spec.subsets[0].name: Required value", spec: `
  host: reviews
  subsets:
  - labels: {version: v1}`},
	{name: "no host", kind: dr, want: "spec.host: Required value", spec: `
  subsets:
  - {name: v1, labels: {version: v1}}`},
	{name: "simple and consistentHash", kind: dr, want: "spec.trafficPolicy.loadBalancer: Invalid value: \"object\": only one of simple and consistentHash may be set", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: RANDOM
      consistentHash: {useSourceIp: true}`},
	{name: "two hash keys", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash: Invalid value: \"object\": only one of httpHeaderName, httpCookie, useSourceIp and httpQueryParameterName may be set", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user, useSourceIp: true}`},
	{name: "malformed connectTimeout", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.connectTimeout: Invalid value: \"string\": must be a duration", spec: `
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {connectTimeout: "30"}`},
	{name: "malformed subset outlier interval", kind: dr, want: "spec.subsets[0].trafficPolicy.outlierDetection.interval: Invalid value: \"string\": must be a duration", spec: `
  host: reviews
  subsets:
  - name: v1
    trafficPolicy:
      outlierDetection: {interval: 5 minutes}`},
	{name: "maxEjectionPercent above 100", kind: dr, want: "spec.trafficPolicy.outlierDetection.maxEjectionPercent: Invalid value: 150", spec: `
  host: reviews
  trafficPolicy:
    outlierDetection: {maxEjectionPercent: 150}`},
	{name: "negative maxConnections", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.maxConnections: Invalid value: -5", spec: `
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: -5}`},
	{name: "unknown h2UpgradePolicy", kind: dr, want: "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy: Unsupported value: \"ALWAYS\"", spec: `
  host: reviews
  trafficPolicy:
    connectionPool:
      http: {h2UpgradePolicy: ALWAYS}`},
	{name: "port level setting out of range", kind: dr, want: "spec.trafficPolicy.portLevelSettings[0].port.number: Invalid value: 70000", spec: `
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 70000}
      loadBalancer: {simple: RANDOM}`},

	// ServiceEntry.
	{name: "no hosts", kind: se, want: "spec.hosts: Required value", spec: `
  ports:
  - {number: 443, name: https, protocol: TLS}`},
	{name: "port out of range", kind: se, want: "spec.ports[0].number: Invalid value: 70000", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 70000, name: https, protocol: TLS}`},
	{name: "unknown resolution", kind: se, want: "spec.resolution: Unsupported value: \"MAGIC\"", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 443, name: https, protocol: TLS}
  resolution: MAGIC`},
	{name: "unknown protocol", kind: se, want: "spec.ports[0].protocol: Invalid value: \"string\": must be one of HTTP, HTTPS, GRPC", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 25, name: smtp, protocol: SMTP}`},
	{name: "duplicate port names", kind: se, want: `spec.ports[1]: Duplicate value: {"name":"http"}`, spec: `
  hosts: [api.example.com]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  - {number: 8080, name: http, protocol: HTTP}`},
	{name: "endpoints and workloadSelector", kind: se, want: "spec: Invalid value: \"object\": only one of endpoints and workloadSelector may be set", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  resolution: STATIC
  endpoints:
  - address: 192.0.2.1
  workloadSelector:
    labels: {app: api}`},
	{name: "endpoint port out of range", kind: se, want: "spec.endpoints[0].ports: Invalid value: \"object\": port numbers must be in 1..65535", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  resolution: STATIC
  endpoints:
  - address: 192.0.2.1
    ports: {http: 70000}`},

	// Gateway.
	{name: "server port out of range", kind: gw, want: "spec.servers[0].port.number: Invalid value: 70000", spec: `
  servers:
  - port: {number: 70000, name: http, protocol: HTTP}
    hosts: ["*"]`},
	{name: "no servers", kind: gw, want: "spec.servers: Required value", spec: `
  selector: {istio: ingressgateway}`},
	{name: "null server", kind: gw, want: "spec.servers[0] in body must be of type object", spec: `
  servers: [null]`},
	{name: "server without hosts", kind: gw, want: "spec.servers[0].hosts: Required value", spec: `
  servers:
  - port: {number: 80, name: http, protocol: HTTP}`},
	{name: "server without protocol", kind: gw, want: "spec.servers[0].port.protocol: Required value", spec: `
  servers:
  - port: {number: 80, name: http}
    hosts: ["*"]`},
	{name: "server port zero", kind: gw, want: "spec.servers[0].port.number: Invalid value: 0: spec.servers[0].port.number in body should be greater than or equal to 1", spec: `
  servers:
  - port: {number: 0, name: http, protocol: HTTP}
    hosts: ["*"]`},
	{name: "SIMPLE TLS without certificates", kind: gw, want: "spec.servers[0].tls: Invalid value: \"object\": SIMPLE and MUTUAL modes need serverCertificate and privateKey", spec: `
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE}`},
	{name: "MUTUAL TLS without a private key", kind: gw, want: "spec.servers[0].tls: Invalid value: \"object\": SIMPLE and MUTUAL modes need serverCertificate and privateKey", spec: `
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: MUTUAL, serverCertificate: /etc/c.pem, caCertificates: /etc/ca.pem}`},
	{name: "MUTUAL TLS without a CA", kind: gw, want: "spec.servers[0].tls: Invalid value: \"object\": MUTUAL mode needs caCertificates", spec: `
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: MUTUAL, serverCertificate: /etc/c.pem, privateKey: /etc/k.pem}`},
	{name: "unknown server TLS mode", kind: gw, want: "spec.servers[0].tls.mode: Unsupported value: \"SOMETIMES\"", spec: `
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SOMETIMES}`},
	// Sidecar.
	{name: "egress host without a namespace", kind: sc, want: "spec.egress[0].hosts[0]: Invalid value: \"reviews.default.svc.cluster.local\"", spec: `
  egress:
  - hosts: [reviews.default.svc.cluster.local]`},
	{name: "egress without hosts", kind: sc, want: "spec.egress[0].hosts: Required value", spec: `
  egress:
  - port: {number: 9080, protocol: HTTP, name: http}`},
	{name: "empty Sidecar", kind: sc, want: "sidecar: empty configuration provided", spec: `
  workloadSelector: {labels: {app: reviews}}`},
	{name: "unknown outbound traffic policy", kind: sc, want: "spec.outboundTrafficPolicy.mode: Unsupported value: \"ALLOW_ANY_DYNAMIC_DNS\"", spec: `
  outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}`},
	{name: "ingress defaultEndpoint on another host", kind: sc, want: "spec.ingress[0].defaultEndpoint: Invalid value: \"10.0.0.1:8080\"", spec: `
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 10.0.0.1:8080`},
	{name: "egress port protocol unknown", kind: sc, want: "spec.egress[0].port.protocol: Invalid value: \"string\": must be one of HTTP", spec: `
  egress:
  - port: {number: 9080, protocol: QUIC, name: http}
    hosts: ["./*"]`},
}

// testRefused applies each mistake (in a version taken in turn, as they share one schema) and
// checks kubectl's message; then that the validator refuses it too.
func testRefused(t *testing.T, c *kubetest.Cluster) {
	for i, tc := range refused {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			doc := manifest(versions[i%len(versions)], tc.kind, fmt.Sprintf("refused-%d", i), tc.spec)
			out, err := apply(t, c, doc)
			if err == nil {
				t.Fatalf("kubectl apply accepted it:\n%s\n%s", doc, out)
			}
			t.Logf("refused: %s", strings.TrimSpace(out))
			if !strings.Contains(out, tc.want) {
				t.Errorf("kubectl apply refused it without %q:\n%s", tc.want, out)
			}
			if verr := validate(tc.kind, doc); verr == nil && !tc.schemaOnly {
				t.Errorf("the validator accepts what the schema refuses")
			}
		})
	}
}
