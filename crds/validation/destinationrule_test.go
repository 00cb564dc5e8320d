package validation

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
)

func drSpec(t *testing.T, text string) *networking.DestinationRule {
	t.Helper()
	var dr networking.DestinationRule
	if err := yaml.UnmarshalStrict([]byte(text), &dr); err != nil {
		t.Fatalf("bad test spec: %v\n%s", err, text)
	}
	return &dr
}

// policy is a DestinationRule for reviews with the given trafficPolicy YAML (one flow mapping).
func policy(tp string) string { return "host: reviews\ntrafficPolicy: " + tp + "\n" }

// problemAt finds the problem at a field whose reason contains want.
func problemAt(problems []Problem, field, want string) bool {
	for _, p := range problems {
		if p.Field == field && strings.Contains(p.Reason, want) {
			return true
		}
	}
	return false
}

func TestDestinationRuleRefusals(t *testing.T) {
	cases := []struct {
		name, spec, field, reason string
	}{
		{"empty host", "host: ''", "spec.host", "must not be empty"},
		{"unknown simple load balancer", policy("{loadBalancer: {simple: FASTEST}}"),
			"spec.trafficPolicy.loadBalancer.simple", "is not a load balancer"},
		{"simple and consistentHash", policy("{loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}}"),
			"spec.trafficPolicy.loadBalancer", "only one of simple and consistentHash"},
		{"two hash keys", policy("{loadBalancer: {consistentHash: {httpHeaderName: x-user, useSourceIp: true}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash", "exactly one of httpHeaderName"},
		{"ring hash and maglev", policy("{loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {}, maglev: {}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash", "only one of ringHash and maglev"},
		{"deprecated ring size with ringHash", policy("{loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 10, ringHash: {minimumRingSize: 20}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "cannot be combined"},
		{"maglev table not prime", policy("{loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "must be a prime"},
		{"ring size above Envoy's bound", policy("{loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 1099511627776}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize", "above 8388608"},
		{"ring size one above Envoy's bound", policy("{loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 8388609}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize", "above 8388608"},
		{"subset ring size above Envoy's bound", "host: reviews\nsubsets: [{name: v1, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 16777216}}}}}]",
			"spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize", "above 8388608"},
		{"deprecated ring size above Envoy's bound", policy("{loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 8388609}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "above 8388608"},
		{"maglev table above Envoy's bound", policy("{loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 5000077}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "above 5000011"},
		// A prime near 2^64: trial division would take minutes; the bound answers first.
		{"maglev table a huge prime", policy("{loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 18446744073709551557}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "above 5000011"},
		{"keepalive time above Linux's bound", policy("{connectionPool: {tcp: {tcpKeepalive: {time: 32768s}}}}"),
			"spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time", "above 32767s"},
		{"keepalive interval above Linux's bound", policy("{connectionPool: {tcp: {tcpKeepalive: {interval: 10000h}}}}"),
			"spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval", "above 32767s"},
		{"keepalive probes above Linux's bound", policy("{connectionPool: {tcp: {tcpKeepalive: {probes: 128}}}}"),
			"spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes", "more than 127"},
		// Envoy's HTTP_HEADER_NAME rule for the hash policy's header_name: no NUL, CR or LF.
		{"hash header name with a line break", policy("{loadBalancer: {consistentHash: {httpHeaderName: \"x\\nuser\"}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName", "Envoy refuses"},
		{"hash header name with a carriage return", policy("{loadBalancer: {consistentHash: {httpHeaderName: \"x-user\\r\"}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName", "Envoy refuses"},
		{"hash header name with NUL", policy("{loadBalancer: {consistentHash: {httpHeaderName: \"x\\0user\"}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName", "Envoy refuses"},
		{"port level hash header name with a line break", policy("{portLevelSettings: [{port: {number: 80}, loadBalancer: {consistentHash: {httpHeaderName: \"a\\nb\"}}}]}"),
			"spec.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.httpHeaderName", "Envoy refuses"},
		{"hash cookie name with a line break", policy("{loadBalancer: {consistentHash: {httpCookie: {name: \"user\\nx\", ttl: 10s}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name", "Set-Cookie"},
		{"hash cookie path with a line break", policy("{loadBalancer: {consistentHash: {httpCookie: {name: user, path: \"/\\r\\nx: y\", ttl: 10s}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.path", "Set-Cookie"},
		{"cookie without name", policy("{loadBalancer: {consistentHash: {httpCookie: {ttl: 10s}}}}"),
			"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name", "cookie name is required"},
		{"warm-up with consistent hash", policy("{loadBalancer: {consistentHash: {useSourceIp: true}, warmupDurationSecs: 10s}}"),
			"spec.trafficPolicy.loadBalancer.warmupDurationSecs", "only with ROUND_ROBIN and LEAST_REQUEST"},
		{"distribute and failover", policy("{loadBalancer: {localityLbSetting: {distribute: [{from: a/*, to: {b/*: 100}}], failover: [{from: a, to: b}]}}, outlierDetection: {}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting", "only one of distribute and failover"},
		{"distribute weights", policy("{loadBalancer: {localityLbSetting: {distribute: [{from: a/*, to: {b/*: 60, c/*: 30}}]}}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to", "add up to 90"},
		{"distribute wildcard in the middle", policy("{loadBalancer: {localityLbSetting: {distribute: [{from: 'a/*/z', to: {b: 100}}]}}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute", "'*' may appear once, at the end"},
		{"failover to itself", policy("{loadBalancer: {localityLbSetting: {failover: [{from: eu, to: eu}]}}, outlierDetection: {}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", "cannot fail over to itself"},
		{"failover names a zone", policy("{loadBalancer: {localityLbSetting: {failover: [{from: eu/z1, to: us}]}}, outlierDetection: {}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", "regions only"},
		{"failover with a topology priority", policy("{loadBalancer: {localityLbSetting: {failover: [{from: eu, to: us}], failoverPriority: [topology.kubernetes.io/region]}}, outlierDetection: {}}"),
			"spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[0]", "already orders by region"},
		{"negative max connections", policy("{connectionPool: {tcp: {maxConnections: -1}}}"),
			"spec.trafficPolicy.connectionPool.tcp.maxConnections", "negative"},
		{"connect timeout below 1ms", policy("{connectionPool: {tcp: {connectTimeout: 10us}}}"),
			"spec.trafficPolicy.connectionPool.tcp.connectTimeout", "shorter than the minimum"},
		// Envoy needs connect_timeout, the outlier interval and base_ejection_time above 0 and a TCP
		// max_downstream_connection_duration of at least 1ms; Istio wants each >= 1ms, in whole ms.
		{"connect timeout zero", policy("{connectionPool: {tcp: {connectTimeout: 0s}}}"),
			"spec.trafficPolicy.connectionPool.tcp.connectTimeout", "shorter than the minimum 1ms"},
		{"connect timeout not whole ms", policy("{connectionPool: {tcp: {connectTimeout: 1500us}}}"),
			"spec.trafficPolicy.connectionPool.tcp.connectTimeout", "whole number of milliseconds"},
		{"max connection duration below 1ms", policy("{connectionPool: {tcp: {maxConnectionDuration: 1us}}}"),
			"spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration", "shorter than the minimum 1ms"},
		{"max connection duration not whole ms", policy("{connectionPool: {tcp: {maxConnectionDuration: 1.0001s}}}"),
			"spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration", "whole number of milliseconds"},
		{"tcp idle timeout not whole ms", policy("{connectionPool: {tcp: {idleTimeout: 2.5ms}}}"),
			"spec.trafficPolicy.connectionPool.tcp.idleTimeout", "whole number of milliseconds"},
		{"http idle timeout not whole ms", policy("{connectionPool: {http: {idleTimeout: 10.5ms}}}"),
			"spec.trafficPolicy.connectionPool.http.idleTimeout", "whole number of milliseconds"},
		{"keepalive time not whole ms", policy("{connectionPool: {tcp: {tcpKeepalive: {time: 1000001us}}}}"),
			"spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time", "whole number of milliseconds"},
		{"outlier interval zero", policy("{outlierDetection: {interval: 0s}}"),
			"spec.trafficPolicy.outlierDetection.interval", "shorter than the minimum 1ms"},
		{"outlier base ejection time zero", policy("{outlierDetection: {baseEjectionTime: '0'}}"),
			"spec.trafficPolicy.outlierDetection.baseEjectionTime", "shorter than the minimum 1ms"},
		{"outlier base ejection time not whole ms", policy("{outlierDetection: {baseEjectionTime: 30.0005s}}"),
			"spec.trafficPolicy.outlierDetection.baseEjectionTime", "whole number of milliseconds"},
		{"subset port level outlier interval zero", "host: reviews\nsubsets: [{name: v1, trafficPolicy: {portLevelSettings: [{port: {number: 80}, outlierDetection: {interval: 0ms}}]}}]",
			"spec.subsets[0].trafficPolicy.portLevelSettings[0].outlierDetection.interval", "shorter than the minimum 1ms"},
		{"bad h2 upgrade policy", policy("{connectionPool: {http: {h2UpgradePolicy: ALWAYS}}}"),
			"spec.trafficPolicy.connectionPool.http.h2UpgradePolicy", "is not DEFAULT"},
		{"client protocol and upgrade", policy("{connectionPool: {http: {useClientProtocol: true, h2UpgradePolicy: UPGRADE}}}"),
			"spec.trafficPolicy.connectionPool.http", "contradicts"},
		{"deprecated consecutiveErrors", policy("{outlierDetection: {consecutiveErrors: 5}}"),
			"spec.trafficPolicy.outlierDetection.consecutiveErrors", "Istio ignores it"},
		{"local origin failures without split", policy("{outlierDetection: {consecutiveLocalOriginFailures: 3}}"),
			"spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures", "splitExternalLocalOriginErrors"},
		{"max ejection above 100", policy("{outlierDetection: {maxEjectionPercent: 120}}"),
			"spec.trafficPolicy.outlierDetection.maxEjectionPercent", "outside 0..100"},
		{"unknown TLS mode", policy("{tls: {mode: STRICT}}"), "spec.trafficPolicy.tls.mode", "is not a TLS mode"},
		{"MUTUAL without key", policy("{tls: {mode: MUTUAL, clientCertificate: /c.pem}}"), "spec.trafficPolicy.tls", "needs clientCertificate and privateKey"},
		{"ISTIO_MUTUAL", policy("{tls: {mode: ISTIO_MUTUAL}}"), "spec.trafficPolicy.tls.mode", "certificate authority"},
		{"credentialName", policy("{tls: {mode: SIMPLE, credentialName: cred}}"), "spec.trafficPolicy.tls.credentialName", "SDS"},
		{"client cert in SIMPLE", policy("{tls: {mode: SIMPLE, clientCertificate: /c.pem, privateKey: /k.pem}}"),
			"spec.trafficPolicy.tls", "only in MUTUAL mode"},
		{"SANs without CA", policy("{tls: {mode: SIMPLE, subjectAltNames: [a.example.com]}}"),
			"spec.trafficPolicy.tls.subjectAltNames", "only when caCertificates"},
		{"settings with DISABLE", policy("{tls: {mode: DISABLE, sni: a.example.com}}"), "spec.trafficPolicy.tls", "no effect when mode is DISABLE"},
		{"CRL without CA", policy("{tls: {mode: SIMPLE, caCrl: /crl.pem, insecureSkipVerify: true}}"), "spec.trafficPolicy.tls.caCrl", "only with caCertificates"},
		{"tunnel", policy("{tunnel: {protocol: CONNECT, targetHost: a, targetPort: 1}}"), "spec.trafficPolicy.tunnel", "not supported"},
		{"port level without port", policy("{portLevelSettings: [{loadBalancer: {simple: RANDOM}}]}"),
			"spec.trafficPolicy.portLevelSettings[0].port.number", "needs a port number"},
		{"port level twice", policy("{portLevelSettings: [{port: {number: 80}, loadBalancer: {simple: RANDOM}}, {port: {number: 80}}]}"),
			"spec.trafficPolicy.portLevelSettings[1].port.number", "two port level settings"},
		{"port level bad policy", policy("{portLevelSettings: [{port: {number: 80}, connectionPool: {http: {maxRetries: -2}}}]}"),
			"spec.trafficPolicy.portLevelSettings[0].connectionPool.http.maxRetries", "negative"},
		{"subset without name", "host: reviews\nsubsets: [{labels: {version: v1}}]", "spec.subsets[0].name", "needs a name"},
		{"subset twice", "host: reviews\nsubsets: [{name: v1}, {name: v1}]", "spec.subsets[1].name", "defined twice"},
		{"subset label value", "host: reviews\nsubsets: [{name: v1, labels: {version: 'v 1'}}]", "spec.subsets[0].labels[version]", "not a valid label value"},
		{"subset policy", "host: reviews\nsubsets: [{name: v1, trafficPolicy: {loadBalancer: {simple: NEAREST}}}]",
			"spec.subsets[0].trafficPolicy.loadBalancer.simple", "is not a load balancer"},
		{"exportTo star with others", "host: reviews\nexportTo: ['*', prod]", "spec.exportTo[0]", "cannot be combined"},
		{"exportTo bad namespace", "host: reviews\nexportTo: [Prod_1]", "spec.exportTo[0]", "namespace name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := DestinationRule(drSpec(t, tc.spec))
			if !problemAt(res.Errors, tc.field, tc.reason) {
				t.Errorf("want an error at %s containing %q, got %v", tc.field, tc.reason, res.Errors)
			}
		})
	}
}

func TestDestinationRuleWarnings(t *testing.T) {
	res := DestinationRule(drSpec(t, policy("{loadBalancer: {localityLbSetting: {failover: [{from: eu, to: us}]}}}")))
	if res.Err() != nil || !problemAt(res.Warnings, "spec.trafficPolicy.loadBalancer.localityLbSetting", "needs outlierDetection") {
		t.Errorf("failover without outlier detection: want only a warning, got %v / %v", res.Errors, res.Warnings)
	}
	// Envoy takes a header name with a space, but no request can carry one: it is used, with a warning.
	res = DestinationRule(drSpec(t, policy("{loadBalancer: {consistentHash: {httpHeaderName: 'x user'}}}")))
	if res.Err() != nil || !problemAt(res.Warnings, "spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName", "no request carries") {
		t.Errorf("hash header name with a space: want only a warning, got %v / %v", res.Errors, res.Warnings)
	}
	// The subset inherits the top-level outlier detection: no warning.
	res = DestinationRule(drSpec(t, "host: r\ntrafficPolicy: {outlierDetection: {}}\nsubsets: [{name: a, trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: eu, to: us}]}}}}]"))
	if len(res.Warnings) > 0 || res.Err() != nil {
		t.Errorf("inherited outlier detection: got %v / %v", res.Errors, res.Warnings)
	}
}

func TestDestinationRuleValid(t *testing.T) {
	for name, spec := range map[string]string{
		"everything": `host: reviews.prod.svc.cluster.local
exportTo: [".", "prod"]
workloadSelector: {matchLabels: {app: productpage}}
trafficPolicy:
  loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s, localityLbSetting: {distribute: [{from: "eu/*", to: {"eu/z1/*": 80, "us/*": 20}}]}}
  connectionPool:
    tcp: {maxConnections: 100, connectTimeout: 1s, maxConnectionDuration: 1h, idleTimeout: 30m, tcpKeepalive: {probes: 3, time: 60s, interval: 10s}}
    http: {http1MaxPendingRequests: 10, http2MaxRequests: 100, maxRequestsPerConnection: 5, maxRetries: 3, idleTimeout: 10s, h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 50}
  outlierDetection: {consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 20}
  tls: {mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem, caCertificates: /etc/ca.pem, caCrl: /etc/crl.pem, subjectAltNames: [reviews.example.com], sni: reviews.example.com}
  portLevelSettings:
  - port: {number: 9080}
    loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 1h, path: /}, ringHash: {minimumRingSize: 1024}}}
subsets:
- name: v1
  labels: {version: v1, example.com/tier: gold}
  trafficPolicy: {loadBalancer: {consistentHash: {httpQueryParameterName: u, maglev: {tableSize: 65537}}}}
`,
		"failover with priorities": `host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 1}
  loadBalancer: {simple: LEAST_REQUEST, localityLbSetting: {enabled: true, failover: [{from: eu, to: us}], failoverPriority: [app, "version=v2"]}}
`,
		// Envoy's and gRPC's largest ring; a pseudo-header is a header Envoy can hash on.
		"largest ring, hashing on the authority": policy("{loadBalancer: {consistentHash: {httpHeaderName: ':authority', ringHash: {minimumRingSize: 8388608}}}}"),
		"deprecated ring size at Envoy's bound":  policy("{loadBalancer: {consistentHash: {httpHeaderName: X-User, minimumRingSize: 8388608}}}"),
		"durations of whole milliseconds": policy("{connectionPool: {tcp: {connectTimeout: 1ms, maxConnectionDuration: 1.5s, idleTimeout: 0.5ms}, " +
			"http: {idleTimeout: 250ms}}, outlierDetection: {interval: 1ms, baseEjectionTime: 0.001s}}"),
		"simple TLS without verification": "host: api.example.com\ntrafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, sni: api.example.com}}",
	} {
		t.Run(name, func(t *testing.T) {
			res := DestinationRule(drSpec(t, spec))
			if err := res.Err(); err != nil || len(res.Warnings) > 0 {
				t.Errorf("want valid, got %v / %v", err, res.Warnings)
			}
		})
	}
}
