package translate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/model"
)

// ViewKey says which proxies get the same Outbound translation of a snapshot: it covers every proxy
// field Outbound reads, and nothing else, so proxies with equal keys share one result. Labels count
// only as far as a rule reads them: which of the snapshot's workload selectors they match, and the
// values of the failover priority labels; a gRPC client's user agent only as far as it changes the
// forms it is sent (grpcclient.go). The replicas of 200 Deployments (200 label sets) that no
// rule tells apart share one translation. The proxy's Sidecar scope is chosen by its namespace and
// the Sidecar workload selectors it matches (the mesh's root namespace is the snapshot's), so the
// key covers it. The proxy's IP is left out on purpose: only Inbound reads it.
func ViewKey(snap *model.Snapshot, p *model.Proxy, listenerNames []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%t|%s|%s|", p.Type, p.Namespace, p.Proxyless, p.InterceptionMode, p.Locality)
	if p.Proxyless {
		// What the client's implementation and version accept, not the user agent itself: every
		// grpc-go from 1.73 on shares one translation.
		b.WriteString(grpcClientOf(p).key())
		b.WriteByte('|')
	}
	for _, sel := range snap.WorkloadSelectors() {
		if model.LabelsMatch(sel, p.Labels) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	b.WriteByte('|')
	for _, key := range snap.FailoverPriorityLabels() {
		if v, ok := p.Labels[key]; ok {
			fmt.Fprintf(&b, "%q=%q,", key, v)
		}
	}
	if len(listenerNames) > 0 {
		names := slices.Clone(listenerNames)
		slices.Sort(names)
		fmt.Fprintf(&b, "|%q", names)
	}
	return b.String()
}
