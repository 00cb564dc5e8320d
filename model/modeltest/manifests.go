package modeltest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteManifests writes the mesh Mesh(n, endpointsPer) describes as Kubernetes-style manifests into
// dir (one file per namespace), for pilot-discovery's file adapter: Services, EndpointSlices,
// DestinationRules and VirtualServices.
func WriteManifests(dir string, n, endpointsPer int) error {
	files := map[string]*strings.Builder{}
	for i := range n {
		name, ns := fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%10)
		b := files[ns]
		if b == nil {
			b = &strings.Builder{}
			files[ns] = b
		}
		fmt.Fprintf(b, `---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec: {clusterIP: 10.96.%[3]d.%[4]d, ports: [{name: http, port: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  host: %[1]s
  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 1000}}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  hosts: [%[1]s]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: %[1]s, subset: v2}}]
  - route: [{destination: {host: %[1]s, subset: v1}, weight: 90}, {destination: {host: %[1]s, subset: v2}, weight: 10}]
    timeout: 2s
`, name, ns, i/250, i%250)
		for j := range endpointsPer {
			fmt.Fprintf(b, `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-%[3]d, namespace: %[2]s, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.%[4]d.%[5]d.%[3]d], zone: eu-%[6]d}]
---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s-%[3]d, namespace: %[2]s, labels: {app: %[1]s, version: v%[7]d}}
status: {podIP: 10.%[4]d.%[5]d.%[3]d}
`, name, ns, j, 1+i/250, i%250, j%3, 1+j%2)
		}
	}
	for ns, b := range files {
		if err := os.WriteFile(filepath.Join(dir, ns+".yaml"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
