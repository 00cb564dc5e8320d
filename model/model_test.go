package model

import (
	"slices"
	"testing"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

func TestParseNodeID(t *testing.T) {
	p, err := ParseNodeID("sidecar~10.1.0.10~productpage-v1-abc.bookinfo~bookinfo.svc.cluster.local")
	if err != nil || p.Type != Sidecar || p.IPAddress != "10.1.0.10" || p.Namespace != "bookinfo" || p.Workload != "productpage-v1-abc.bookinfo" {
		t.Fatalf("got %+v, %v", p, err)
	}
	for _, bad := range []string{"", "envoy-1", "sidecar~10.1.0.10~pod", "ingress~10.1.0.1~p.ns~ns.svc.cluster.local", "sidecar~~p.ns~ns.svc.cluster.local", "sidecar~1.2.3.4~p~"} {
		if _, err := ParseNodeID(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestResolveShortName(t *testing.T) {
	for in, want := range map[string]string{
		"reviews":                        "reviews.default.svc.cluster.local",
		"reviews.prod":                   "reviews.prod", // Istio expands only names without dots
		"reviews.prod.svc":               "reviews.prod.svc",
		"reviews.prod.svc.cluster.local": "reviews.prod.svc.cluster.local",
		"*.example.com":                  "*.example.com",
		"*":                              "*",
		"api.example.com":                "api.example.com",
		"10.0.0.1":                       "10.0.0.1",
		"::1":                            "::1",
	} {
		if got := ResolveShortName(in, "default", "cluster.local"); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestExportedTo(t *testing.T) {
	for _, tc := range []struct {
		exportTo []string
		ns       string
		want     bool
	}{
		{nil, "other", true}, {[]string{"*"}, "other", true}, {[]string{"."}, "own", true},
		{[]string{"."}, "other", false}, {[]string{"a", "b"}, "b", true}, {[]string{"a"}, "own", false},
	} {
		if got := ExportedTo(tc.exportTo, "own", tc.ns); got != tc.want {
			t.Errorf("exportTo %v from %s: got %v", tc.exportTo, tc.ns, got)
		}
	}
}

// TestDestinationRuleFor: the proxy's namespace first, then the service's, then elsewhere; exact
// hosts before wildcards; the oldest among equals.
func TestDestinationRuleFor(t *testing.T) {
	svc := &Service{Hostname: "reviews.prod.svc.cluster.local", Name: "reviews", Namespace: "prod"}
	at := func(ns, name, host string, age time.Duration) *DestinationRule {
		return &DestinationRule{Meta: Meta{Kind: KindDestinationRule, Name: name, Namespace: ns,
			CreationTimestamp: time.Unix(1000, 0).Add(-age)}, Spec: &networking.DestinationRule{Host: host}}
	}
	snap := NewSnapshot("cluster.local", 1, time.Time{}, Part{Services: []*Service{svc}, DestinationRules: []*DestinationRule{
		at("root", "elsewhere", "reviews.prod.svc.cluster.local", 3*time.Hour),
		at("prod", "wildcard", "*.prod.svc.cluster.local", 2*time.Hour),
		at("prod", "exact-new", "reviews", time.Hour),
		at("prod", "exact-old", "reviews", 2*time.Hour),
		at("client", "client-side", "reviews.prod.svc.cluster.local", time.Minute),
		at("client", "name-dot-namespace", "reviews.prod", time.Hour), // names no service, as in Istio
	}})
	if got := snap.DestinationRuleFor("client", svc).Name; got != "client-side" {
		t.Errorf("from the client namespace: got %s", got)
	}
	if got := snap.DestinationRuleFor("other", svc).Name; got != "exact-old" {
		t.Errorf("from elsewhere: want the oldest exact rule in the service namespace, got %s", got)
	}
}

func TestMultiClusterMerge(t *testing.T) {
	svc := func(cluster string) *Service {
		return &Service{Hostname: "r.ns.svc.cluster.local", Name: "r", Namespace: "ns", Clusters: []string{cluster},
			Ports: []Port{{Name: "http", Port: 80, Protocol: ProtocolHTTP}}}
	}
	ep := func(addr, cluster string) *Endpoint {
		return &Endpoint{Service: "r.ns.svc.cluster.local", ServicePort: "http", Address: addr, Port: 80, Ready: true, Cluster: cluster}
	}
	snap := NewSnapshot("cluster.local", 1, time.Time{},
		Part{Services: []*Service{svc("east")}, Endpoints: []*Endpoint{ep("10.0.0.2", "east")}},
		Part{Services: []*Service{svc("west")}, Endpoints: []*Endpoint{ep("10.0.0.1", "west")}})
	if len(snap.Services) != 1 || len(snap.Services[0].Clusters) != 2 {
		t.Fatalf("one service seen in two clusters expected, got %+v", snap.Services)
	}
	eps := snap.Endpoints("r.ns.svc.cluster.local", snap.Services[0].Ports[0])
	if len(eps) != 2 || eps[0].Cluster != "west" || eps[1].Cluster != "east" {
		t.Fatalf("endpoints of both clusters, sorted by address, expected: %+v %+v", eps[0], eps[1])
	}
}

// TestStoreBuildsOnDemand: changes are cheap signals; a snapshot is built once for a burst of them,
// and not before every source has synced.
func TestStoreBuildsOnDemand(t *testing.T) {
	store := NewStore("cluster.local", time.Now)
	src := &countingSource{}
	reg := store.Register("a", src)
	if store.Synced() {
		t.Fatal("a registered source has not synced yet")
	}
	reg.Synced()
	for range 10 {
		reg.Changed()
	}
	s1 := store.Snapshot()
	if src.calls != 1 || s1.Generation != 1 {
		t.Fatalf("a burst of changes should cost one Part call, got %d (generation %d)", src.calls, s1.Generation)
	}
	if s2 := store.Snapshot(); s2 != s1 || src.calls != 1 {
		t.Fatal("without changes the same snapshot comes back")
	}
}

type countingSource struct{ calls int }

func (c *countingSource) Part() Part { c.calls++; return Part{} }

// TestSearchNames: a gRPC target resolves as a DNS search path would, unlike a rule's host.
func TestSearchNames(t *testing.T) {
	for in, want := range map[string][]string{
		"reviews":          {"reviews", "reviews.default.svc.cluster.local"},
		"reviews.prod":     {"reviews.prod", "reviews.prod.svc.cluster.local"},
		"reviews.prod.svc": {"reviews.prod.svc", "reviews.prod.svc.cluster.local"},
		"api.example.com":  {"api.example.com"},
	} {
		if got := SearchNames(in, "default", "cluster.local"); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
}
