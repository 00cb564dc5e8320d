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
		}
	})
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
