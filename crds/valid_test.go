package crds_test

import (
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

var versions = []string{"v1", "v1beta1", "v1alpha3"}

// bookinfo is Istio-style routing for the bookinfo sample: weights, matches, retries, faults,
// redirects, subsets with traffic policies, a ServiceEntry and a Gateway. Between them they use
// most fields of the schema, which must all be accepted.
var bookinfo = []struct{ kind, name, spec string }{
	{"VirtualService", "reviews", `
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
      uri: {prefix: /reviews}
      ignoreUriCase: true
    route:
    - destination: {host: reviews, subset: v2}
    timeout: 1m30s
    retries: {attempts: 3, perTryTimeout: 1.5s, retryOn: "5xx,connect-failure"}
  - name: shift-to-v3
    route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v3}
      weight: 20
      headers:
        response: {set: {x-canary: "true"}}
`},
	{"VirtualService", "ratings", `
  hosts: [ratings]
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    fault:
      delay: {percentage: {value: 100}, fixedDelay: 7s}
      abort: {percentage: {value: 10.5}, httpStatus: 500}
    route:
    - destination: {host: ratings, subset: v1}
  - match:
    - uri: {prefix: /old}
    redirect: {uri: /new, redirectCode: 301}
  - match:
    - uri: {exact: /health}
    directResponse: {status: 200, body: {string: ok}}
  - match:
    - uri: {regex: "^/v[0-9]+/ratings$"}
    rewrite: {uriRegexRewrite: {match: "^/v[0-9]+/", rewrite: /}}
    route:
    - destination: {host: ratings, subset: v1, port: {number: 9080}}
  - route:
    - destination: {host: ratings, subset: v1}
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}]
      allowMethods: [GET]
      maxAge: 24h
    mirror: {host: ratings, subset: v2}
    mirrorPercentage: {value: 50}
    headers:
      request: {set: {x-a: b}, add: {x-c: d}}
      response: {remove: [x-b]}
  tcp:
  - match: [{port: 27017}]
    route:
    - destination: {host: mongo.example.com, port: {number: 27017}}
`},
	{"VirtualService", "bookinfo", `
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    - uri: {prefix: /static}
    route:
    - destination: {host: productpage, port: {number: 9080}}
  tls:
  - match:
    - sniHosts: [bookinfo.example.com]
      port: 443
    route:
    - destination: {host: productpage, port: {number: 9443}}
`},
	{"DestinationRule", "reviews", `
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting:
        enabled: true
        failover: [{from: us-east, to: us-west}]
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}}
      http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 1, idleTimeout: 1h, h2UpgradePolicy: UPGRADE}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50}
    tls: {mode: SIMPLE, sni: reviews.example.com}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpCookie: {name: user, ttl: 0s}
          ringHash: {minimumRingSize: 1024}
      portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {simple: ROUND_ROBIN}
  - name: v3
    labels: {version: v3}
`},
	// At the bounds the schema and Envoy set: durations of 1ms, a TCP idle timeout of 0 (off), the
	// largest ring, a pseudo-header as the hash key.
	{"DestinationRule", "ratings", `
  host: ratings
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: ":authority", ringHash: {minimumRingSize: 8388608}}
    connectionPool:
      tcp: {connectTimeout: 1ms, maxConnectionDuration: 1.5s, idleTimeout: 0s}
      http: {idleTimeout: 0.001s}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1ms, baseEjectionTime: 1ms}
`},
	{"ServiceEntry", "external-api", `
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  ports:
  - {number: 443, name: https, protocol: TLS}
  resolution: DNS
`},
	{"ServiceEntry", "mongo", `
  hosts: [mongo.example.com]
  addresses: [192.0.2.10/32]
  ports:
  - {number: 27017, name: mongo, protocol: mongo}
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
  - address: 192.0.2.10
    ports: {mongo: 27017}
    labels: {app: mongo}
    weight: 1
`},
	{"Gateway", "bookinfo-gateway", `
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls:
      mode: SIMPLE
      serverCertificate: /etc/certs/tls.crt
      privateKey: /etc/certs/tls.key
      minProtocolVersion: TLSV1_2
  - port: {number: 8443, name: https-mutual, protocol: HTTPS}
    hosts: [partners.example.com]
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/tls.crt
      privateKey: /etc/certs/tls.key
      caCertificates: /etc/certs/ca.crt
`},
	// Istio's Sidecar reference example: an ingress listener and egress on one port, then the rest.
	{"Sidecar", "ratings", `
  workloadSelector: {labels: {app: ratings}}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: somename}
    defaultEndpoint: 127.0.0.1:8080
  egress:
  - port: {number: 9080, protocol: HTTP, name: egresshttp}
    hosts: [prod-us1/*]
  - hosts: [istio-system/*, "./*", "~./legacy.default.svc.cluster.local"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`},
}

// testValidManifests applies bookinfo in every served version, under a name per version, and
// checks that minipilot's validator agrees they are valid.
func testValidManifests(t *testing.T, c *kubetest.Cluster) {
	for _, o := range bookinfo {
		if err := validate(o.kind, manifest("v1", o.kind, o.name, o.spec)); err != nil {
			t.Errorf("%s %s: the validator refuses it: %v", o.kind, o.name, err)
		}
	}
	for _, v := range versions {
		var docs []string
		for _, o := range bookinfo {
			docs = append(docs, manifest(v, o.kind, o.name+"-"+v, o.spec))
		}
		if out, err := apply(t, c, strings.Join(docs, "---\n")); err != nil {
			t.Errorf("%s: kubectl apply refused bookinfo: %v\n%s", v, err, out)
		}
	}

	// Short names, the istio-io category and the printer columns work as with Istio's CRDs.
	out, stderr, err := c.Kubectl(t, "get", "vs", "-n", "default", "reviews-v1beta1")
	if err != nil {
		t.Fatalf("kubectl get vs: %v\n%s", err, stderr)
	}
	for _, want := range []string{"GATEWAYS", "HOSTS", "AGE", `["reviews"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get vs output lacks %q:\n%s", want, out)
		}
	}
	out, stderr, err = c.Kubectl(t, "get", "istio-io", "-n", "default", "-o", "name")
	if err != nil {
		t.Fatalf("kubectl get istio-io: %v\n%s", err, stderr)
	}
	for _, want := range []string{"virtualservice.networking.istio.io/ratings-v1alpha3",
		"destinationrule.networking.istio.io/reviews-v1", "serviceentry.networking.istio.io/mongo-v1beta1",
		"gateway.networking.istio.io/bookinfo-gateway-v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get istio-io lacks %s:\n%s", want, out)
		}
	}
	testStatusSubresource(t, c)
}

// testStatusSubresource writes a status the way minipilot's controller does (metav1.Condition)
// and checks that it is kept, and that a spec change through /status is ignored.
func testStatusSubresource(t *testing.T, c *kubetest.Cluster) {
	patch := `{"spec":{"host":"ignored"},"status":{"observedGeneration":1,"conditions":[{"type":"Accepted",` +
		`"status":"True","reason":"Valid","message":"","lastTransitionTime":"2025-01-01T00:00:00Z","observedGeneration":1}]}}`
	if _, stderr, err := c.Kubectl(t, "patch", "dr", "reviews-v1", "-n", "default",
		"--subresource=status", "--type=merge", "-p", patch); err != nil {
		t.Fatalf("patching status: %v\n%s", err, stderr)
	}
	out, stderr, err := c.Kubectl(t, "get", "dr", "reviews-v1", "-n", "default",
		"-o", "jsonpath={.spec.host} {.status.conditions[0].reason} {.status.observedGeneration}")
	if err != nil {
		t.Fatalf("kubectl get dr: %v\n%s", err, stderr)
	}
	if out != "reviews Valid 1" {
		t.Errorf("after the status patch: got %q, want %q", out, "reviews Valid 1")
	}
}
