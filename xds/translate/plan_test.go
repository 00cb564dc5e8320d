package translate_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestEndpointPlanRebuildsWhatOutboundWould is the endpoint fast path's oracle: after random
// endpoint-only changes (added, removed, not ready, relabelled, moved zone), the plan of the old
// translation rebuilds exactly the endpoint sets a translation from scratch makes, and a translation
// from scratch changes nothing else.
func TestEndpointPlanRebuildsWhatOutboundWould(t *testing.T) {
	part := modeltest.Mesh(30, 6)
	rng := rand.New(rand.NewPCG(1, 2))
	proxies := []struct {
		id        string
		proxyless bool
		listeners []string
	}{
		{id: "sidecar~10.200.0.1~a.ns-0~ns-0.svc.cluster.local"},
		{id: "router~10.200.0.2~gw.ns-1~ns-1.svc.cluster.local"},
		{id: "sidecar~10.200.0.3~c.ns-0~ns-0.svc.cluster.local", proxyless: true,
			listeners: []string{"svc-0.ns-0.svc.cluster.local:8080", "svc-10.ns-0.svc.cluster.local:8080"}},
	}
	prev := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	for step := range 25 {
		next := part
		next.Endpoints = mutateEndpoints(rng, part.Endpoints)
		snap := model.NewSnapshot("cluster.local", uint64(step+2), time.Time{}, next)
		change := model.Diff(prev, snap)
		if change.Config {
			t.Fatalf("step %d: an endpoint change was seen as a config change", step)
		}
		for _, pc := range proxies {
			proxy, _ := model.ParseNodeID(pc.id)
			proxy.Locality, proxy.Proxyless = model.Locality{Region: "eu", Zone: "eu-1"}, pc.proxyless
			before, after := translate.Outbound(prev, proxy, pc.listeners), translate.Outbound(snap, proxy, pc.listeners)
			rebuilt := before.Plan.Rebuild(snap, change.Endpoints)
			want := map[string][]byte{}
			for _, cla := range after.Endpoints {
				want[cla.ClusterName] = wireOf(t, cla)
			}
			for _, cla := range rebuilt.Endpoints {
				if !bytes.Equal(wireOf(t, cla), want[cla.ClusterName]) {
					t.Fatalf("step %d, %s: the rebuilt endpoints of %s differ from a translation from scratch", step, proxy.Type, cla.ClusterName)
				}
			}
			for _, cla := range after.Endpoints {
				if !change.Endpoints[hostOf(cla.ClusterName)] {
					continue
				}
				if !containsCLA(rebuilt, cla.ClusterName) {
					t.Fatalf("step %d, %s: %s changed but was not rebuilt", step, proxy.Type, cla.ClusterName)
				}
			}
			before.Endpoints, after.Endpoints = nil, nil
			if !bytes.Equal(wire(t, before), wire(t, after)) {
				t.Fatalf("step %d, %s: an endpoint change changed clusters, listeners or routes", step, proxy.Type)
			}
		}
		part, prev = next, snap
	}
}

func mutateEndpoints(rng *rand.Rand, eps []*model.Endpoint) []*model.Endpoint {
	out := append([]*model.Endpoint(nil), eps...)
	for range 1 + rng.IntN(4) {
		i := rng.IntN(len(out))
		e := *out[i]
		switch rng.IntN(5) {
		case 0: // a new pod
			e.Address = fmt.Sprintf("10.250.%d.%d", rng.IntN(250), rng.IntN(250))
			out = append(out, &e)
			continue
		case 1: // a pod gone
			out = append(out[:i], out[i+1:]...)
			continue
		case 2:
			e.Ready = !e.Ready
		case 3:
			e.Labels = map[string]string{"app": e.Labels["app"], "version": fmt.Sprintf("v%d", 1+rng.IntN(2))}
		case 4:
			e.Locality.Zone = fmt.Sprintf("eu-%d", rng.IntN(3))
		}
		out[i] = &e
	}
	return out
}

func hostOf(cluster string) string {
	var port int
	var rest string
	if _, err := fmt.Sscanf(cluster, "outbound|%d|%s", &port, &rest); err != nil {
		return ""
	}
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == '|' {
			return rest[i+1:]
		}
	}
	return rest
}

func containsCLA(r *translate.Resources, name string) bool {
	for _, cla := range r.Endpoints {
		if cla.ClusterName == name {
			return true
		}
	}
	return false
}
