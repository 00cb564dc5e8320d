package translate_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

var update = flag.Bool("update", false, "rewrite testdata/out from the translator's output")

// goldenInput is a test case: a model snapshot (as a Part) and the proxy it is translated for.
type goldenInput struct {
	model.Part `json:",inline"`
	// Proxy is the node ID; metadata-derived fields are set beside it.
	Proxy            string            `json:"proxy"`
	ProxyLabels      map[string]string `json:"proxyLabels,omitempty"`
	Proxyless        bool              `json:"proxyless,omitempty"`
	InterceptionMode string            `json:"interceptionMode,omitempty"`
	ListenerNames    []string          `json:"listenerNames,omitempty"`
	// ProxyLocality is the node's locality, "region/zone/subzone".
	ProxyLocality string `json:"proxyLocality,omitempty"`
	// ClientName and ClientVersion are the node's user agent ("gRPC Go", "1.85.0").
	ClientName    string `json:"clientName,omitempty"`
	ClientVersion string `json:"clientVersion,omitempty"`
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := translateFile(t, in)
			out := filepath.Join("testdata", "out", name+".yaml")
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run: go test ./xds/translate -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s; diff it with: go test ./xds/translate -run 'TestGolden/%s$' -update && git diff %s\n%s",
					out, name, out, firstDifference(string(want), string(got)))
			}
		})
	}
}

func translateFile(t *testing.T, path string) []byte {
	t.Helper()
	in, snap, proxy := loadGolden(t, path)
	res := translate.ForProxy(snap, proxy, in.ListenerNames)
	// Every resource must pass Envoy's own validation: the translator drops those that do not, with a
	// warning, and a golden case that loses a resource that way hides a bug.
	for _, w := range res.Warnings {
		if strings.Contains(w, "fails validation") {
			t.Errorf("%s: a resource was dropped: %s", path, w)
		}
	}
	return render(t, res)
}

// loadGolden reads a golden input: the case, its snapshot and its proxy.
func loadGolden(t *testing.T, path string) (goldenInput, *model.Snapshot, *model.Proxy) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in goldenInput
	if err := yaml.UnmarshalStrict(data, &in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	proxy, err := model.ParseNodeID(in.Proxy)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	proxy.Labels, proxy.Proxyless, proxy.InterceptionMode = in.ProxyLabels, in.Proxyless, in.InterceptionMode
	proxy.ClientName, proxy.ClientVersion = in.ClientName, in.ClientVersion
	if in.ProxyLocality != "" {
		proxy.Locality = model.ParseLocality(in.ProxyLocality)
	}
	return in, model.NewSnapshot("cluster.local", 1, time.Time{}, in.Part), proxy
}

// render writes resources as YAML, one list per type, in the order Envoy is sent them.
func render(t *testing.T, res *translate.Resources) []byte {
	t.Helper()
	doc := map[string]any{
		"clusters":  toJSON(t, res.Clusters),
		"endpoints": toJSON(t, res.Endpoints),
		"listeners": toJSON(t, res.Listeners),
		"routes":    toJSON(t, res.Routes),
	}
	if len(res.Warnings) > 0 {
		doc["warnings"] = res.Warnings
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.JSONToYAML(js)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func toJSON[T proto.Message](t *testing.T, msgs []T) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return "line " + itoa(i+1) + ":\n  want: " + w[i] + "\n  got:  " + g[i]
		}
	}
	return "lengths differ: want " + itoa(len(w)) + " lines, got " + itoa(len(g))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
