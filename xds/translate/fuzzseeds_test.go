package translate_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// The seed corpus of FuzzTranslate (testdata/fuzz/FuzzTranslate): an input for each way a mesh has
// broken a response, each named for it and checked to still be one (the generator may change), and
// a few large random meshes. -update searches inputs again for any seed that no longer is.

type fuzzSeed struct {
	name string
	// is says whether a generated mesh, and what the sidecar, router and gRPC client get, is the case.
	is func(p model.Part, got map[string]*translate.Resources) bool
}

func seedWarned(got map[string]*translate.Resources, kind model.Kind, text string) bool {
	for _, r := range got {
		if slices.ContainsFunc(r.Details, func(w translate.Warning) bool {
			return (kind == "" || w.Object.Kind == kind) && strings.Contains(w.Message, text)
		}) {
			return true
		}
	}
	return false
}

var fuzzSeeds = []fuzzSeed{
	{"duplicate-port", func(p model.Part, got map[string]*translate.Resources) bool {
		// Two HTTP ports of one number, with endpoints for both (issue 12: http and http2 on 9080).
		for _, svc := range p.Services {
			for i, a := range svc.Ports {
				for _, b := range svc.Ports[:i] {
					if a.Port == b.Port && a.Port == 9080 && a.Name != b.Name && a.Protocol.IsHTTP() && b.Protocol.IsHTTP() &&
						hasEndpoints(p, svc, a.Name) && hasEndpoints(p, svc, b.Name) {
						return true
					}
				}
			}
		}
		return false
	}},
	{"huge-ring-size", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, model.KindDestinationRule, "MinimumRingSize")
	}},
	{"destination-rule-fails-validation", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, model.KindDestinationRule, "fails validation")
	}},
	{"shared-virtual-ip", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, translate.KindService, "are already those of virtual host")
	}},
	{"endpoint-not-an-ip", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, translate.KindService, "not an IP address, which Envoy needs here")
	}},
	{"port-out-of-range", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, translate.KindService, "is outside 1-65535")
	}},
	{"domain-not-valid", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, translate.KindService, "are not valid in a Host header")
	}},
	{"overlapping-filter-chains", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, "", "an earlier filter chain") || seedWarned(got, "", "matches the same connections as an earlier one")
	}},
	{"partial-wildcard-sni", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, "", "have a wildcard Envoy does not support")
	}},
	{"logical-dns-without-host", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, translate.KindService, "a LOGICAL_DNS cluster resolves exactly one name")
	}},
	{"subset-named-twice", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, model.KindDestinationRule, "repeats an earlier subset's")
	}},
	{"routes-of-a-rule-fail-validation", func(p model.Part, got map[string]*translate.Resources) bool {
		return seedWarned(got, model.KindVirtualService, "the routes of VirtualService")
	}},
	{"gateway-tls", func(p model.Part, got map[string]*translate.Resources) bool {
		for _, l := range got["router"].Listeners {
			for _, c := range l.FilterChains {
				if c.TransportSocket != nil {
					return true
				}
			}
		}
		return false
	}},
	{"delegate", func(p model.Part, got map[string]*translate.Resources) bool {
		for _, r := range got {
			for _, rc := range r.Routes {
				for _, vh := range rc.VirtualHosts {
					for _, rt := range vh.Routes {
						if strings.Count(rt.Name, ".") >= 3 && !strings.Contains(rt.Name, "svc") { // name.ns.i.j
							return true
						}
					}
				}
			}
		}
		return false
	}},
}

func hasEndpoints(p model.Part, svc *model.Service, port string) bool {
	return slices.ContainsFunc(p.Endpoints, func(e *model.Endpoint) bool { return e.Service == svc.Hostname && e.ServicePort == port })
}

// translateSeed is what the fuzz target translates, by proxy name.
func translateSeed(data []byte) (model.Part, map[string]*translate.Resources) {
	part := newMeshGen(data).part()
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	got := map[string]*translate.Resources{}
	for _, p := range fuzzProxies(part) {
		got[p.name] = translate.ForProxy(snap, p.proxy, p.listeners)
	}
	return part, got
}

const seedDir = "testdata/fuzz/FuzzTranslate"

func TestFuzzSeedCorpus(t *testing.T) {
	search := rand.New(rand.NewSource(12))
	for _, seed := range fuzzSeeds {
		t.Run(seed.name, func(t *testing.T) {
			path := filepath.Join(seedDir, seed.name)
			data, err := readCorpusFile(path)
			if err == nil {
				if part, got := translateSeed(data); seed.is(part, got) {
					return
				}
				err = fmt.Errorf("the generator no longer makes it the case")
			}
			if !*update {
				t.Fatalf("%s: %v (run: go test ./xds/translate -run TestFuzzSeedCorpus -update)", path, err)
			}
			for range 500000 {
				data := make([]byte, 5+search.Intn(300))
				search.Read(data)
				if part, got := translateSeed(data); seed.is(part, got) {
					writeCorpusFile(t, path, data)
					return
				}
			}
			t.Fatalf("no input found for %s", seed.name)
		})
	}
	// Large random meshes, for breadth.
	for i := range 4 {
		path := filepath.Join(seedDir, fmt.Sprintf("random-%d", i))
		if _, err := readCorpusFile(path); err != nil {
			if !*update {
				t.Fatalf("%s: %v", path, err)
			}
			data := make([]byte, 2000)
			rand.New(rand.NewSource(int64(i))).Read(data)
			writeCorpusFile(t, path, data)
		}
	}
}

// readCorpusFile reads a one-value corpus file of `go test -fuzz`.
func readCorpusFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	header, value, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
		return nil, fmt.Errorf("not a corpus file of one []byte")
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(value, "[]byte("), ")"))
	return []byte(s), err
}

func writeCorpusFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("go test fuzz v1\n[]byte("+strconv.Quote(string(data))+")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
