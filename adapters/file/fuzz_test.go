package file

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/adapters/k8s"
)

// FuzzParseFile reads arbitrary bytes as a manifest file, through the adapter's parsing, its limits
// and the conversion into a model Part: nothing may panic (a recovered panic shows as an "internal
// error" rejection, which fails here too), and nothing over a limit may get in. The limits are
// small so that the fuzzer reaches them. Seeds: the manifests below, and testdata/fuzz/FuzzParseFile
// (the crashers and outages of issue 12).
const endpointsSeed = `apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, labels: {app: reviews, version: v1}}
spec: {nodeName: n1}
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
---
apiVersion: v1
kind: Endpoints
metadata: {name: external}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 443, name: https}]}]
`

func FuzzParseFile(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input it finds, and big ones make that slow.
	for _, seed := range []string{reviewsService, reviewsVS, rulesFile, endpointsSeed,
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Service, metadata: {name: a}, spec: {ports: [{port: 80}]}}]\n",
		`{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"topology.kubernetes.io/zone": "z"}}}`,
	} {
		f.Add([]byte(seed))
	}
	lim := limits{fileBytes: 256 << 10, documentBytes: 64 << 10, expandedBytes: 256 << 10, expansionRatio: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New("fuzz", k8s.Options{DomainSuffix: "cluster.local"}, zap.NewNop())
		a.limits = lim
		objs, errs := a.parseFile("f.yaml", data)
		a.accept(dirState{"f.yaml": {objs: objs, errs: errs}})
		part := a.Part()
		for _, r := range part.Rejections {
			if strings.Contains(r.Reason, "internal error") || strings.Contains(r.Reason, "panic:") { // recovered panics
				t.Fatalf("%s %s: %s", r.Source, r.Key(), r.Reason)
			}
		}
		if int64(len(data)) > lim.fileBytes && (len(objs) > 0 || len(errs) != 1) {
			t.Fatalf("a file over the limit should be refused whole, got %d objects and %d errors", len(objs), len(errs))
		}
		for _, o := range objs {
			// What was accepted, encoded again, is about the size of its document's JSON (defaults
			// such as creationTimestamp: null add a little).
			b, err := json.Marshal(o.value())
			if err != nil {
				t.Fatalf("%s: %v", o.source, err)
			}
			if int64(len(b)) > lim.expandedBytes+4<<10 {
				t.Fatalf("%s is %d bytes of JSON, over the limit of %d", o.source, len(b), lim.expandedBytes)
			}
		}
	})
}
