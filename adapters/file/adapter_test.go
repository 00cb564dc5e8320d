package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

const reviewsService = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 9080}]
`

const reviewsVS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, a *Adapter) model.Part {
	t.Helper()
	if err := a.Load(); err != nil {
		t.Fatal(err)
	}
	return a.Part()
}

func newAdapter(t *testing.T, dir string) *Adapter {
	return New(dir, k8s.Options{DomainSuffix: "cluster.local"}, zaptest.NewLogger(t))
}

// TestRejections: every bad document is reported with file, document index, object and reason, and
// the good documents around it are served.
func TestRejections(t *testing.T) {
	cases := []struct {
		name       string
		doc        string
		source     string // want Rejection.Source
		object     string // want "Kind/namespace/name", or "" when the document could not be identified
		reasonPart string
	}{
		{"bad YAML", "kind: Service\nmetadata: {name: [oops\n", "bad.yaml#2", "", "invalid YAML"},
		{"unknown kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n", "bad.yaml#2", "ConfigMap/default/cm", "unknown kind v1 ConfigMap"},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: abc}]}\n", "bad.yaml#2", "Service/default/s", "spec.ports.port: a string cannot go in a field of type int32"},
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {bogus: 1}\n", "bad.yaml#2", "Service/default/s", "spec.bogus: unknown field"},
		{"no name", "apiVersion: v1\nkind: Service\nmetadata: {}\n", "bad.yaml#2", "", "metadata.name is required"},
		{"no kind", "metadata: {name: x}\n", "bad.yaml#2", "", "apiVersion and kind are required"},
		{"unserved Istio version", "apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata: {name: v}\nspec: {}\n", "bad.yaml#2", "VirtualService/default/v", "is not served"},
		{"Istio unknown field", strings.Replace(reviewsVS, "weight: 80", "weigth: 80", 1), "bad.yaml#2", "VirtualService/default/reviews", "spec.http[0].route[0].weigth: unknown field"},
		{"Istio wrong type", strings.Replace(reviewsVS, "weight: 80", "weight: eighty", 1), "bad.yaml#2", "VirtualService/default/reviews", "spec.http.route.weight: a string cannot go in a field of type int32"},
		{"Istio validation", strings.Replace(reviewsVS, "weight: 80", "weight: 70", 1), "bad.yaml#2", "VirtualService/default/reviews", "spec.http[0].route: the weights of the destinations add up to 90, not 100"},
		{"Istio bad duration", reviewsVS + "    timeout: soon\n", "bad.yaml#2", "VirtualService/default/reviews", `spec.http[0].timeout: "soon" is not a duration`},
		{"Istio bad regex", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec: {hosts: [r], http: [{match: [{uri: {regex: '(('}}], route: [{destination: {host: r}}]}]}\n", "bad.yaml#2", "VirtualService/default/r", "spec.http[0].match[0].uri.regex: \"((\" is not a valid RE2 regular expression"},
		{"Service name not a DNS label (checked converting it)", "apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name}\nspec: {ports: [{port: 80}]}\n", "bad.yaml#2", "Service/default/Bad_Name", "metadata.name"},
		{"DestinationRule unknown LB", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: d, trafficPolicy: {loadBalancer: {simple: FASTEST}}}\n", "bad.yaml#2", "DestinationRule/default/d", `spec.trafficPolicy.loadBalancer.simple: "FASTEST" is not a load balancer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "bad.yaml", reviewsService+"---\n"+tc.doc)
			part := load(t, newAdapter(t, dir))
			if len(part.Services) != 1 || part.Services[0].Name != "reviews" {
				t.Errorf("the good document beside the bad one should be served, got %d services", len(part.Services))
			}
			if len(part.Rejections) != 1 {
				t.Fatalf("want 1 rejection, got %+v", part.Rejections)
			}
			r := part.Rejections[0]
			object := ""
			if r.Kind != "" && r.Name != "" {
				object = r.Key()
			}
			if r.Source != tc.source || object != tc.object || !strings.Contains(r.Reason, tc.reasonPart) {
				t.Errorf("got source %q object %q reason %q\nwant source %q object %q reason containing %q",
					r.Source, object, r.Reason, tc.source, tc.object, tc.reasonPart)
			}
		})
	}
}

func TestDefaultsAndConversion(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "all.yaml", reviewsService+`---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, labels: {app: reviews, version: v1}}
status: {podIP: 127.0.0.21}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: reviews-abc, labels: {kubernetes.io/service-name: reviews}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints:
- addresses: [127.0.0.21]
  targetRef: {kind: Pod, name: reviews-v1, namespace: default}
- addresses: [127.0.0.29]
  conditions: {ready: false}
---
`+reviewsVS)
	part := load(t, newAdapter(t, dir))
	if len(part.Rejections) != 0 {
		t.Fatalf("unexpected rejections: %+v", part.Rejections)
	}
	svc := part.Services[0]
	if svc.Hostname != "reviews.default.svc.cluster.local" || svc.Ports[0].Protocol != model.ProtocolHTTP {
		t.Errorf("service: %+v", svc)
	}
	if len(part.Endpoints) != 2 || part.Endpoints[0].Labels["version"] != "v1" || !part.Endpoints[0].Ready || part.Endpoints[1].Ready {
		t.Errorf("endpoints: labels from the Pod and readiness from the slice expected, got %+v %+v", part.Endpoints[0], part.Endpoints[1])
	}
	if len(part.VirtualServices) != 1 || part.VirtualServices[0].Namespace != "default" || part.VirtualServices[0].Source != "all.yaml#4" {
		t.Errorf("virtual service: a missing namespace means default, source names the document: %+v", part.VirtualServices)
	}
}

// TestLastGoodVersionStays: a bad edit of an object keeps its last good version in force; a file that
// cannot be read in full keeps all its objects; a removed file takes its objects with it.
func TestLastGoodVersionStays(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "svc.yaml", reviewsService)
	write(t, dir, "vs.yaml", reviewsVS)
	a := newAdapter(t, dir)
	if part := load(t, a); len(part.VirtualServices) != 1 {
		t.Fatalf("want the VirtualService, got %+v", part)
	}

	write(t, dir, "vs.yaml", strings.Replace(reviewsVS, "weight: 80", "weight: 10", 1))
	part := load(t, a)
	if len(part.VirtualServices) != 1 || part.VirtualServices[0].Spec.HTTP[0].Route[0].Weight != 80 || len(part.Rejections) != 1 {
		t.Fatalf("the 80/20 version should stay in force beside a rejection, got %+v / %+v", part.VirtualServices, part.Rejections)
	}

	write(t, dir, "vs.yaml", "apiVersion: v1\nkind: [broken\n")
	part = load(t, a)
	if len(part.VirtualServices) != 1 {
		t.Fatalf("a file that does not parse keeps its objects, got %+v", part.VirtualServices)
	}

	if err := os.Remove(filepath.Join(dir, "vs.yaml")); err != nil {
		t.Fatal(err)
	}
	part = load(t, a)
	if len(part.VirtualServices) != 0 || len(part.Rejections) != 0 {
		t.Fatalf("a removed file takes its objects, got %+v / %+v", part.VirtualServices, part.Rejections)
	}
}

func TestDuplicateAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", reviewsService)
	write(t, dir, "b.yaml", reviewsService)
	part := load(t, newAdapter(t, dir))
	if len(part.Services) != 1 || len(part.Rejections) != 1 || !strings.Contains(part.Rejections[0].Reason, "defined twice; the definition in a.yaml#1 is used") {
		t.Fatalf("got %+v / %+v", part.Services, part.Rejections)
	}
}

func TestListKind(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "list.yaml", `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {ports: [{port: 80}]}}
`)
	if part := load(t, newAdapter(t, dir)); len(part.Services) != 2 {
		t.Fatalf("want both items of the List, got %+v", part)
	}
}

// TestWatch: an edit, an added and a removed file reach the model without a restart, on the real
// clock.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "svc.yaml", reviewsService)
	store := model.NewStore("cluster.local", time.Now)
	a := newAdapter(t, dir)
	a.timing.hold = 200 * time.Millisecond // in-place writes and removals are held; the real clock waits
	reg := store.Register("file", a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, reg, clock.RealClock{}) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor := func(what string, cond func(*model.Snapshot) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if store.Synced() && cond(store.Snapshot()) {
				return
			}
			select {
			case <-store.Changes():
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the first load", func(s *model.Snapshot) bool { return len(s.Services) == 1 })
	write(t, dir, "vs.yaml", reviewsVS)
	waitFor("an added file", func(s *model.Snapshot) bool { return len(s.VirtualServices) == 1 })
	write(t, dir, "svc.yaml", strings.Replace(reviewsService, "9080", "9081", 1))
	waitFor("an edit", func(s *model.Snapshot) bool { return len(s.Services) == 1 && s.Services[0].Ports[0].Port == 9081 })
	if err := os.Remove(filepath.Join(dir, "vs.yaml")); err != nil {
		t.Fatal(err)
	}
	waitFor("a removed file", func(s *model.Snapshot) bool { return len(s.VirtualServices) == 0 })
}
