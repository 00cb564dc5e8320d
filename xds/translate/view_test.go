package translate_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestOutboundIsSharedByViewKey: sidecars that differ only in what ViewKey leaves out (their IP, pod
// name, labels no rule reads) get the same key and the same Outbound; Inbound, which reads the IP,
// is what tells them apart.
func TestOutboundIsSharedByViewKey(t *testing.T) {
	part := modeltest.Mesh(20, 2)
	self := part.Endpoints[0] // the first sidecar is an endpoint of svc-0: it has an inbound side
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	a, _ := model.ParseNodeID("sidecar~" + self.Address + "~svc-0-a.ns-0~ns-0.svc.cluster.local")
	b, _ := model.ParseNodeID("sidecar~10.200.0.2~svc-0-b.ns-0~ns-0.svc.cluster.local")
	a.Labels, b.Labels = map[string]string{"app": "a", "pod-template-hash": "1"}, map[string]string{"app": "b", "pod-template-hash": "2"}
	if translate.ViewKey(snap, a, nil) != translate.ViewKey(snap, b, nil) {
		t.Fatal("sidecars differing only in IP, name and labels no rule reads must share a key")
	}
	assertSameOutbound(t, snap, a, b)
	if ia, ib := translate.Inbound(snap, a), translate.Inbound(snap, b); len(ia.Clusters) <= len(ib.Clusters) {
		t.Fatalf("only the sidecar that is an endpoint has inbound|<port>|| clusters: %d and %d", len(ia.Clusters), len(ib.Clusters))
	}
	c := *a
	c.Namespace = "ns-1"
	if translate.ViewKey(snap, a, nil) == translate.ViewKey(snap, &c, nil) {
		t.Fatal("the namespace changes what a sidecar sees; it must be in the key")
	}
}

// TestViewKeyCoversWhatRulesRead: in a mesh whose rules read proxy labels (sourceLabels, a
// workloadSelector, failover priority, a Sidecar's workloadSelector), random label sets that get one key get byte-identical
// Outbound translations, and label sets that rules tell apart get different keys. A new way for the
// translator to read labels, without ViewKey knowing, fails this.
func TestViewKeyCoversWhatRulesRead(t *testing.T) {
	part := modeltest.Mesh(12, 4)
	jason := "jason"
	part.VirtualServices[0].Spec.HTTP[0].Match = append(part.VirtualServices[0].Spec.HTTP[0].Match,
		&networking.HTTPMatchRequest{SourceLabels: map[string]string{"app": "frontend"}, Headers: map[string]*networking.StringMatch{"x": {Exact: &jason}}})
	sel := *part.DestinationRules[1]
	selSpec := *sel.Spec
	selSpec.WorkloadSelector = &networking.WorkloadSelector{MatchLabels: map[string]string{"version": "canary"}}
	sel.Spec, sel.Name = &selSpec, "canary-only"
	part.DestinationRules = append(part.DestinationRules, &sel)
	failover := part.DestinationRules[2].Spec
	failover.TrafficPolicy.LoadBalancer = &networking.LoadBalancerSettings{LocalityLbSetting: &networking.LocalityLoadBalancerSetting{
		FailoverPriority: []string{"rack"}}}
	failover.TrafficPolicy.OutlierDetection = &networking.OutlierDetection{}
	for i, ep := range part.Endpoints { // the endpoints carry the label failover compares
		labels := map[string]string{"rack": fmt.Sprintf("r%d", 1+i%2)}
		for k, v := range ep.Labels {
			labels[k] = v
		}
		e := *ep
		e.Labels = labels
		part.Endpoints[i] = &e
	}
	// A Sidecar that scopes the batch workloads to their own namespace: a proxy's Sidecar is chosen by
	// its labels too.
	part.Sidecars = []*model.SidecarResource{{Meta: model.Meta{Kind: model.KindSidecar, Name: "batch", Namespace: "ns-0"},
		Spec: &networking.Sidecar{WorkloadSelector: &networking.SidecarWorkloadSelector{Labels: map[string]string{"app": "batch"}},
			Egress: []*networking.IstioEgressListener{{Hosts: []string{"./*"}}}}}}
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)

	rng := rand.New(rand.NewPCG(7, 7))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	byKey := map[string]*model.Proxy{}
	distinctLabels := 0
	for i := range 60 {
		p, _ := model.ParseNodeID(fmt.Sprintf("sidecar~10.200.0.%d~pod-%d.ns-0~ns-0.svc.cluster.local", i, i))
		p.Labels = map[string]string{"app": pick("frontend", "backend", "batch"), "version": pick("v1", "canary"),
			"rack": pick("r1", "r2"), "pod-template-hash": fmt.Sprint(rng.IntN(1000))}
		key := translate.ViewKey(snap, p, nil)
		if first, ok := byKey[key]; ok {
			if !sameLabels(first.Labels, p.Labels) {
				distinctLabels++
			}
			assertSameOutbound(t, snap, first, p)
			continue
		}
		byKey[key] = p
	}
	if len(byKey) < 4 || distinctLabels == 0 {
		t.Fatalf("%d keys, %d shared across different labels: the test must exercise both", len(byKey), distinctLabels)
	}
}

func assertSameOutbound(t *testing.T, snap *model.Snapshot, a, b *model.Proxy) {
	t.Helper()
	ra, rb := translate.Outbound(snap, a, nil), translate.Outbound(snap, b, nil)
	if !bytes.Equal(wire(t, ra), wire(t, rb)) {
		t.Fatalf("labels %v and %v share a view key but get different Outbound translations", a.Labels, b.Labels)
	}
}

// wire is the deterministic wire bytes of every resource, in order.
func wire(t *testing.T, r *translate.Resources) []byte {
	t.Helper()
	var out []byte
	add := func(msg proto.Message) { out = append(out, wireOf(t, msg)...) }
	for _, c := range r.Clusters {
		add(c)
	}
	for _, e := range r.Endpoints {
		add(e)
	}
	for _, l := range r.Listeners {
		add(l)
	}
	for _, rc := range r.Routes {
		add(rc)
	}
	return out
}

func wireOf(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
