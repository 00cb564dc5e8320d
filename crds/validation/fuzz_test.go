package validation_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// FuzzValidate decodes arbitrary JSON as the spec of each routing kind, through the strict decoder
// and the validator the adapters use (k8s.DecodeConfig), and puts what is accepted into a model
// snapshot. Nothing may panic, and every refusal must name a field of the spec. The committed
// corpus (testdata/fuzz/FuzzValidate) holds the null-element crashers of issue 12, Envoy's bounds
// and valid rules of every kind.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews"}}]}]}`))
	f.Fuzz(func(t *testing.T, spec []byte) {
		for _, kind := range []model.Kind{model.KindVirtualService, model.KindDestinationRule, model.KindServiceEntry, model.KindGateway, model.KindSidecar} {
			cfg, _, err := k8s.DecodeConfig(model.Meta{Kind: kind, Name: "fuzz", Namespace: "default"}, spec)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "spec") {
					t.Errorf("%s: the refusal names no field of the spec: %v", kind, err)
				}
				continue
			}
			useInModel(t, cfg)
		}
	})
}

// TestFuzzSeedsOfValidRulesAreAccepted: the corpus's valid-<kind> seeds must stay valid, or the
// fuzzer would start from nothing that reaches the model.
func TestFuzzSeedsOfValidRulesAreAccepted(t *testing.T) {
	kinds := map[string]model.Kind{"vs": model.KindVirtualService, "dr": model.KindDestinationRule,
		"se": model.KindServiceEntry, "gw": model.KindGateway, "sc": model.KindSidecar}
	seeds, err := filepath.Glob("testdata/fuzz/FuzzValidate/valid-*")
	if err != nil || len(seeds) < len(kinds) {
		t.Fatalf("seeds %v: %v", seeds, err)
	}
	for _, path := range seeds {
		kind := kinds[strings.Split(filepath.Base(path), "-")[1]]
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		spec, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")"))
		if lines[0] != "go test fuzz v1" || err != nil {
			t.Fatalf("%s is not a fuzz corpus file: %v", path, err)
		}
		if _, _, err := k8s.DecodeConfig(model.Meta{Kind: kind, Name: "seed", Namespace: "default"}, []byte(spec)); err != nil {
			t.Errorf("%s is refused as a %s: %v", path, kind, err)
		}
	}
}
