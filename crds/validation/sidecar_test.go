package validation

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
)

func sidecarSpec(t *testing.T, doc string) *networking.Sidecar {
	t.Helper()
	var sc networking.Sidecar
	if err := yaml.UnmarshalStrict([]byte(doc), &sc); err != nil {
		t.Fatal(err)
	}
	return &sc
}

// TestSidecarRefuses: what Istio's ValidateSidecar refuses, each with its field.
func TestSidecarRefuses(t *testing.T) {
	for doc, want := range map[string]string{
		"egress: [{hosts: [reviews]}]":    `spec.egress[0].hosts[0]: "reviews": host must be of form namespace/dnsName`,
		"egress: [{hosts: [a/b/c]}]":      "host must be of form namespace/dnsName",
		"egress: [{hosts: [/reviews]}]":   "the namespace part must not be empty",
		"egress: [{hosts: [Bad_NS/*]}]":   `"Bad_NS" is not a valid namespace name`,
		"egress: [{hosts: [./bad_host]}]": "is not a valid host name",
		"egress: [{hosts: []}]":           "spec.egress[0].hosts: egress listener must contain at least one host",
		"egress: [{hosts: [./*]}, {hosts: [./*], port: {number: 80, protocol: HTTP}}]":                                    "spec.egress[0].port: the egress listener with empty port should be the last listener in the list",
		"egress: [{hosts: [./*]}, {hosts: [./*]}]":                                                                        "egress can have only one listener with empty port",
		"egress: [{hosts: [./*], port: {number: 80, protocol: HTTP}}, {hosts: [./*], port: {number: 80, protocol: TCP}}]": "ports on IP bound listeners must be unique",
		"egress: [{hosts: [./*], port: {number: 0, protocol: HTTP}}]":                                                     "unix domain socket",
		"egress: [{hosts: [./*], port: {number: 80, protocol: SPDY}}]":                                                    `spec.egress[0].port.protocol: "SPDY" is not a protocol Istio knows`,
		"ingress: [{defaultEndpoint: '127.0.0.1:80'}]":                                                                    "spec.ingress[0].port: port is required for ingress listeners",
		"ingress: [{port: {number: 80, protocol: HTTP}, defaultEndpoint: '10.1.1.1:80'}]":                                 "defaultEndpoint must be of form",
		"ingress: [{port: {number: 80, protocol: HTTP}, defaultEndpoint: 'unix:///var/run/a.sock'}]":                      "unix domain socket endpoints are not supported",
		"ingress: [{port: {number: 80, protocol: HTTP}, defaultEndpoint: '127.0.0.1:x'}]":                                 `defaultEndpoint port "x"`,
		"outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}":                                                            "only supported in MeshConfig",
		"workloadSelector: {labels: {app: a}}":                                                                            "sidecar: empty configuration provided",
	} {
		r := Sidecar(sidecarSpec(t, doc))
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", doc, err, want)
		}
	}
}

// TestSidecarAccepts: Istio's documented examples, and the warnings Istio gives.
func TestSidecarAccepts(t *testing.T) {
	for doc, warning := range map[string]string{
		// Istio's reference: the default Sidecar of a root namespace.
		"egress: [{hosts: [./*, istio-system/*]}]": "",
		// Istio's reference: a workload's ingress and a port-specific egress listener.
		`workloadSelector: {labels: {app: productpage}}
ingress: [{port: {number: 9080, protocol: HTTP, name: somename}, defaultEndpoint: '127.0.0.1:8080'}]
egress:
- port: {number: 9080, protocol: HTTP, name: egresshttp}
  hosts: [prod-us1/*]
- hosts: [istio-system/*]`: "",
		"egress: [{hosts: ['~/*']}]\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}":         "",
		"egress: [{hosts: [./*, ~./legacy.default.svc.cluster.local, '*/*.example.com']}]": "",
		"egress: [{hosts: [./*, ./reviews.default.svc.cluster.local]}]":                    "duplicated egress host: ./reviews.default.svc.cluster.local",
		"egress: [{hosts: ['*/*', ./*]}]":                                                  "`*/*` host select all resources",
		"workloadSelector: {}\negress: [{hosts: [./*]}]":                                   "no labels: the Sidecar applies to every workload",
	} {
		r := Sidecar(sidecarSpec(t, doc))
		if err := r.Err(); err != nil {
			t.Errorf("%s: refused: %v", doc, err)
		}
		var got []string
		for _, w := range r.Warnings {
			got = append(got, w.String())
		}
		if joined := strings.Join(got, "; "); (warning == "") != (joined == "") || !strings.Contains(joined, warning) {
			t.Errorf("%s: warnings %q, want %q", doc, joined, warning)
		}
	}
}
