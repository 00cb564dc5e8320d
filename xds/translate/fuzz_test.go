package translate_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// FuzzTranslate translates generated meshes (fuzzgen_test.go) for a sidecar, a sidecar without
// iptables, a router and a gRPC client, and checks that nothing panics, that a client would accept
// every response whole (unsendable, sendable_test.go), and that translating again gives the same
// bytes. The seed corpus is testdata/fuzz/FuzzTranslate; run it longer with
//
//	go test ./xds/translate -run '^$' -fuzz FuzzTranslate -fuzztime 60s -parallel 1
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		part := newMeshGen(data).part()
		snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
		for _, p := range fuzzProxies(part) {
			first := translate.ForProxy(snap, p.proxy, p.listeners)
			for _, problem := range unsendable(first) {
				t.Errorf("%s: %s", p.name, problem)
			}
			refusals := map[string]func(*translate.Resources) []string{coreProxyName: coreRefusals, jsProxyName: jsRefusals}[p.name]
			if refusals != nil {
				for _, problem := range refusals(first) {
					t.Errorf("%s refuses: %s", p.name, problem)
				}
			}
			again := translate.ForProxy(snap, p.proxy, p.listeners)
			if !bytes.Equal(marshalAll(t, first), marshalAll(t, again)) || !slices.Equal(first.Warnings, again.Warnings) {
				t.Errorf("%s: two translations of one snapshot differ", p.name)
			}
			if p.proxy.Type == model.Sidecar && !p.proxy.Proxyless {
				checkKeptRoutes(t, snap, p.proxy)
			}
		}
	})
}

// checkKeptRoutes checks that a sidecar's route configs encoded by SidecarListenersKeeping, fresh
// and then from what it kept (the same snapshot: every virtual host whose route config was kept is
// taken as it was), are the bytes and warnings SidecarListeners gives.
func checkKeptRoutes(t *testing.T, snap *model.Snapshot, proxy *model.Proxy) {
	t.Helper()
	want := translate.SidecarListeners(snap, proxy)
	fresh, kept := translate.SidecarListenersKeeping(snap, proxy, nil)
	again, _ := translate.SidecarListenersKeeping(snap, proxy, kept)
	for _, got := range []*translate.Resources{fresh, again} {
		if len(got.EncodedRoutes) != len(want.Routes) || !slices.Equal(got.Warnings, want.Warnings) {
			t.Fatalf("kept routes: %d route configs and warnings %q, from scratch %d and %q", len(got.EncodedRoutes), got.Warnings, len(want.Routes), want.Warnings)
		}
		for i, rc := range want.Routes {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.EncodedRoutes[i].Value, b) || !slices.Equal(got.EncodedRoutes[i].Clusters, translate.RouteClusters(rc)) {
				t.Errorf("kept routes: route config %s differs from the one from scratch", rc.Name)
			}
		}
	}
}

// marshalAll is every resource, deterministically marshalled, in order.
func marshalAll(t testing.TB, r *translate.Resources) []byte {
	t.Helper()
	var out []byte
	opts := proto.MarshalOptions{Deterministic: true}
	for _, m := range allMessages(r) {
		b, err := opts.Marshal(m)
		if err != nil {
			t.Fatalf("marshal %s: %v", nameOf(m), err)
		}
		out = append(out, b...)
		out = append(out, 0)
	}
	return out
}
