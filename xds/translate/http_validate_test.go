package translate_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// TestGoldenOutputsPassEnvoyValidationDeeply: the translator checks each resource with ValidateAll,
// but that stops at Any fields, and the filter configs (the connection manager, fault, CORS) are
// Anys. Envoy validates them too, so every Any in every golden output is unpacked and validated.
func TestGoldenOutputsPassEnvoyValidationDeeply(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			res := translateInput(t, in)
			var all []proto.Message
			for _, l := range [][]proto.Message{msgs(res.Clusters), msgs(res.Endpoints), msgs(res.Listeners), msgs(res.Routes)} {
				all = append(all, l...)
			}
			for _, m := range all {
				validateDeeply(t, m.ProtoReflect())
			}
		})
	}
}

func translateInput(t *testing.T, path string) *translate.Resources {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		model.Part    `json:",inline"`
		Proxy         string            `json:"proxy"`
		ProxyLabels   map[string]string `json:"proxyLabels"`
		Proxyless     bool              `json:"proxyless"`
		ListenerNames []string          `json:"listenerNames"`
	}
	if err := yaml.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	proxy, err := model.ParseNodeID(in.Proxy)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Labels, proxy.Proxyless = in.ProxyLabels, in.Proxyless
	return translate.ForProxy(model.NewSnapshot("cluster.local", 1, time.Time{}, in.Part), proxy, in.ListenerNames)
}

// validateDeeply unpacks every Any under m and runs its ValidateAll, recursively.
func validateDeeply(t *testing.T, m protoreflect.Message) {
	t.Helper()
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("cannot unpack %s: %v", a.GetTypeUrl(), err)
			return
		}
		if v, ok := inner.(interface{ ValidateAll() error }); ok {
			if err := v.ValidateAll(); err != nil {
				t.Errorf("%s fails Envoy's validation: %v", a.GetTypeUrl(), err)
			}
		}
		validateDeeply(t, inner.ProtoReflect())
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				validateDeeply(t, v.List().Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					validateDeeply(t, mv.Message())
					return true
				})
			}
		default:
			validateDeeply(t, v.Message())
		}
		return true
	})
}
