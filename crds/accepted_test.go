package crds_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

// acceptedBySchema are mistakes the schema does not catch, because the rule needs more than a
// field's own value or is about what minipilot supports rather than what the API allows. The API
// server stores them; minipilot's controller reports them in a status condition. want is a piece
// of the validator's message.
var acceptedBySchema = []struct {
	name, kind, spec, want string
}{
	{name: "weights adding up to 90", kind: vs, want: "spec.http[0].route: the weights of the destinations add up to 90, not 100", spec: `
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 60}
    - {destination: {host: reviews, subset: v2}, weight: 30}`},
	{name: "invalid host name", kind: vs, want: "spec.http[0].route[0].destination.host: \"reviews_v1!\" is not a valid host name", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: "reviews_v1!"}`},
	{name: "invalid regex", kind: vs, want: "spec.http[0].match[0].uri.regex: \"(\" is not a valid RE2 regular expression", spec: `
  hosts: [reviews]
  http:
  - match:
    - uri: {regex: "("}
    route:
    - destination: {host: reviews}`},
	{name: "no routes", kind: vs, want: "spec: at least one http, tcp or tls route is required", spec: `
  hosts: [reviews]`},
	{name: "wildcard host without gateways", kind: vs, want: "spec.hosts[0]: the host \"*\" is only allowed for gateways", spec: `
  hosts: ["*"]
  http:
  - route:
    - destination: {host: reviews}`},
	{name: "perTryTimeout under 1ms", kind: vs, want: "spec.http[0].retries.perTryTimeout: duration 500µs is shorter than the minimum 1ms", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 2, perTryTimeout: 0.5ms}`},
	{name: "unknown gRPC status", kind: vs, want: "spec.http[0].fault.abort.grpcStatus: \"NOPE\" is not a gRPC status name", spec: `
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    fault:
      abort: {grpcStatus: NOPE}`},
	{name: "ISTIO_MUTUAL", kind: dr, want: "spec.trafficPolicy.tls.mode: ISTIO_MUTUAL needs Istio's certificate authority", spec: `
  host: reviews
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}`},
	{name: "tunnel", kind: dr, want: "spec.trafficPolicy.tunnel: tunnel is not supported by minipilot", spec: `
  host: reviews
  trafficPolicy:
    tunnel: {protocol: CONNECT, targetHost: proxy.example.com, targetPort: 8080}`},
	{name: "two settings for one port", kind: dr, want: "spec.trafficPolicy.portLevelSettings[1].port.number: port 9080 has two port level settings", spec: `
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - {port: {number: 9080}, loadBalancer: {simple: RANDOM}}
    - {port: {number: 9080}, loadBalancer: {simple: ROUND_ROBIN}}`},
	{name: "maglev table size not prime", kind: dr, want: "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: table size 1000 must be a prime number", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}`},
	{name: "locality weights adding up to 90", kind: dr, want: "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: the weights add up to 90, not 100", spec: `
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - {from: us-east/*, to: {"us-east/*": 60, "us-west/*": 30}}`},
	{name: "subset name not a DNS label", kind: dr, want: "spec.subsets[0].name: \"V1\" is not a valid subset name", spec: `
  host: reviews
  subsets:
  - {name: V1, labels: {version: v1}}`},
	{name: "STATIC without endpoints", kind: se, want: "spec.endpoints: STATIC resolution needs endpoints or a workloadSelector", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 443, name: https, protocol: TLS}
  resolution: STATIC`},
	{name: "endpoint port of an unknown name", kind: se, want: "spec.endpoints[0].ports[grpc]: \"grpc\" is not the name of one of the entry's ports", spec: `
  hosts: [api.example.com]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.1, ports: {grpc: 9000}}`},
	{name: "bind not an IP address", kind: gw, want: "spec.servers[0].bind: \"localhost\" is not an IP address", spec: `
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
    bind: localhost`},
	{name: "SIMPLE TLS from credentialName", kind: gw, want: "spec.servers[0].tls.credentialName: credentialName needs an SDS server", spec: `
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert}`},
	{name: "keepalive time not whole milliseconds", kind: dr, want: "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: duration 1.0000001s is not a whole number of milliseconds", spec: `
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {tcpKeepalive: {time: 1000000100ns}}}`},
}

// testAcceptedBySchema checks that the API server stores each of acceptedBySchema and that the
// validator refuses it with the expected message.
func testAcceptedBySchema(t *testing.T, c *kubetest.Cluster) {
	for i, tc := range acceptedBySchema {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			doc := manifest(versions[i%len(versions)], tc.kind, fmt.Sprintf("accepted-%d", i), tc.spec)
			if out, err := apply(t, c, doc); err != nil {
				t.Errorf("kubectl apply refused it: %v\n%s", err, out)
			}
			err := validate(tc.kind, doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validator: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
