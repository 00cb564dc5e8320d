package translate_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// User agents as the implementations send them (node.user_agent_name, user_agent_version).
var (
	grpcGo185  = userAgent{"gRPC Go", "1.85.0"}
	grpcCore51 = userAgent{"gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1"}
)

type userAgent struct{ name, version string }

// coreProxyName is the fuzz targets' gRPC C core 1.51 client, whose output must hold nothing that
// core refuses.
const coreProxyName = "gRPC C core 1.51 client"

func (u userAgent) on(p model.Proxy) *model.Proxy {
	p.ClientName, p.ClientVersion = u.name, u.version
	return &p
}

// TestOldCoreAcceptsEveryProxylessGolden: every proxyless golden case, translated for gRPC's C core
// 1.51, holds nothing that core refuses (coreRefusals), and neither does its warm-up route (the
// server adds it when routes name new clusters). The same cases for grpc-go 1.85 keep the current
// forms: the choice is per client.
func TestOldCoreAcceptsEveryProxylessGolden(t *testing.T) {
	tested := eachProxylessGolden(t, func(t *testing.T, in goldenInput, snap *model.Snapshot, proxy *model.Proxy) {
		res := translate.ForProxy(snap, grpcCore51.on(*proxy), in.ListenerNames)
		for _, p := range coreRefusals(res) {
			t.Error(p)
		}
		for _, rc := range res.Routes {
			warm := translate.WithWarmupRoute(rc, translate.RouteClusters(rc))
			for _, p := range coreRefusals(&translate.Resources{Routes: []*routev3.RouteConfiguration{warm}}) {
				t.Errorf("with the warm-up route: %s", p)
			}
		}
	})
	if tested < 4 {
		t.Fatalf("only %d proxyless golden cases", tested)
	}
	in, snap, proxy := loadGolden(t, "testdata/in/proxyless-grpc-core.yaml")
	modern := translate.ForProxy(snap, grpcGo185.on(*proxy), in.ListenerNames)
	if refusals := strings.Join(coreRefusals(modern), "\n"); !strings.Contains(refusals, "header matcher") ||
		!strings.Contains(refusals, "LEAST_REQUEST") {
		t.Errorf("grpc-go 1.85 should get string_match and LEAST_REQUEST, which the old core refuses; refusals:\n%s", refusals)
	}
}

// eachProxylessGolden runs check, as a subtest, on every golden case of a proxyless client, and says
// how many there are.
func eachProxylessGolden(t *testing.T, check func(t *testing.T, in goldenInput, snap *model.Snapshot, proxy *model.Proxy)) int {
	t.Helper()
	inputs, _ := filepath.Glob("testdata/in/*.yaml")
	tested := 0
	for _, path := range inputs {
		in, snap, proxy := loadGolden(t, path)
		if !proxy.Proxyless {
			continue
		}
		tested++
		t.Run(filepath.Base(path), func(t *testing.T) { check(t, in, snap, proxy) })
	}
	return tested
}

// TestGRPCClientsShareViewsByWhatTheyAccept: clients whose implementations and versions accept the
// same forms share a view key and get byte-identical translations; clients that accept different
// forms get different keys. A new per-client choice that ViewKey does not know of fails this.
func TestGRPCClientsShareViewsByWhatTheyAccept(t *testing.T) {
	in, snap, base := loadGolden(t, "testdata/in/proxyless-grpc-core.yaml")
	agents := map[string]userAgent{
		"grpc-go 1.85":    grpcGo185,
		"grpc-go 1.73":    {"gRPC Go", "1.73.0"},
		"grpc-go 1.86dev": {"gRPC Go", "1.86.0-dev"},
		"grpc-go 1.72":    {"gRPC Go", "1.72.1"},
		"grpc-go 1.56":    {"gRPC Go", "1.56.2"},
		"grpc-go 1.55":    {"gRPC Go", "1.55.0"},
		"grpc-go 1.54":    {"gRPC Go", "1.54.1"},
		"C core 1.51":     grpcCore51,
		"C++ 1.51":        {"gRPC C-core linux C++", "C-core 29.0.0 C++ 1.51.1"},
		"grpc-java":       {"gRPC Java", "1.68.0"},
		"grpc-js 1.14":    {"gRPC Node Pure JS", "1.14.1"},
		"no user agent":   {},
	}
	shared := [][]string{
		{"grpc-go 1.85", "grpc-go 1.73", "grpc-go 1.86dev"},
		{"grpc-go 1.72", "grpc-go 1.56"},
		{"grpc-go 1.55"},
		{"grpc-go 1.54", "C core 1.51", "C++ 1.51", "grpc-java", "no user agent"},
		{"grpc-js 1.14"},
	}
	keyOf := func(name string) string { return translate.ViewKey(snap, agents[name].on(*base), in.ListenerNames) }
	for i, group := range shared {
		for _, name := range group[1:] {
			if keyOf(name) != keyOf(group[0]) {
				t.Errorf("%s and %s accept the same forms but have different view keys", name, group[0])
			}
			a := translate.Outbound(snap, agents[name].on(*base), in.ListenerNames)
			b := translate.Outbound(snap, agents[group[0]].on(*base), in.ListenerNames)
			if !bytes.Equal(wire(t, a), wire(t, b)) || !slices.Equal(a.Warnings, b.Warnings) {
				t.Errorf("%s and %s share a view key but get different translations", name, group[0])
			}
		}
		for _, other := range shared[i+1:] {
			if keyOf(group[0]) == keyOf(other[0]) {
				t.Errorf("%s and %s accept different forms but share a view key", group[0], other[0])
			}
		}
	}
	sidecar := *base
	sidecar.Proxyless = false
	if translate.ViewKey(snap, grpcGo185.on(sidecar), nil) != translate.ViewKey(snap, &sidecar, nil) {
		t.Error("an Envoy's user agent changes nothing it is sent; it must not split its view")
	}
}
