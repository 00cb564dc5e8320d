package validation_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// specTypes are the kinds' specs, as the adapters decode them.
var specTypes = map[model.Kind]reflect.Type{
	model.KindVirtualService:  reflect.TypeFor[networking.VirtualService](),
	model.KindDestinationRule: reflect.TypeFor[networking.DestinationRule](),
	model.KindServiceEntry:    reflect.TypeFor[networking.ServiceEntry](),
	model.KindGateway:         reflect.TypeFor[networking.Gateway](),
	model.KindSidecar:         reflect.TypeFor[networking.Sidecar](),
}

// nullCase is a spec with a null element in one list or map, and the path of that element.
type nullCase struct {
	path string
	doc  any
	// pointers: the elements are objects (or lists, maps), which decode to nil; a list of strings or
	// numbers decodes a null as the zero value, which the ordinary checks judge.
	pointers bool
}

// nullCases enumerates, from the Go types, every list and map field reachable from t: for each, a
// document that nests down to it through one element per enclosing list or map, and holds [null]
// (or {"k": null}) there.
func nullCases(t reflect.Type, p string, wrap func(any) any, depth int) []nullCase {
	if depth > 12 {
		return nil
	}
	var out []nullCase
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		ft := deref(f.Type)
		switch {
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8:
			in := func(v any) any { return wrap(map[string]any{name: []any{v}}) }
			out = append(out, nullCase{path: p + "." + name + "[0]", doc: in(nil), pointers: holdsPointers(ft.Elem())})
			if et := deref(ft.Elem()); isObject(et) {
				out = append(out, nullCases(et, p+"."+name+"[0]", in, depth+1)...)
			}
		case ft.Kind() == reflect.Map:
			in := func(v any) any { return wrap(map[string]any{name: map[string]any{"k": v}}) }
			out = append(out, nullCase{path: p + "." + name + "[k]", doc: in(nil), pointers: holdsPointers(ft.Elem())})
			if et := deref(ft.Elem()); isObject(et) {
				out = append(out, nullCases(et, p+"."+name+"[k]", in, depth+1)...)
			}
		case isObject(ft):
			out = append(out, nullCases(ft, p+"."+name, func(v any) any { return wrap(map[string]any{name: v}) }, depth+1)...)
		}
	}
	return out
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isObject(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
}

func holdsPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return true
	}
	return false
}

// TestNullElementsAreRefused: a null element anywhere in a list or map of objects is refused with its
// path, through the decoder the adapters use, and never crashes. Before, `route: [null]`, `servers:
// [null]`, `subsets: [null]` and the like were nil dereferences in the validator.
func TestNullElementsAreRefused(t *testing.T) {
	total, pointers := 0, 0
	for kind, typ := range specTypes {
		for _, tc := range nullCases(typ, "spec", func(v any) any { return v }, 0) {
			total++
			spec, err := json.Marshal(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(string(kind)+"/"+tc.path, func(t *testing.T) {
				meta := model.Meta{Kind: kind, Name: "n", Namespace: "default"}
				cfg, _, err := k8s.DecodeConfig(meta, spec) // a panic fails the test
				if tc.pointers {
					want := tc.path + ": must not be null"
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: got error %v, want one with %q", spec, err, want)
					}
					return
				}
				if err == nil {
					useInModel(t, cfg)
				}
			})
			if tc.pointers {
				pointers++
			}
		}
	}
	// The enumeration must reach the lists the issue names (and did: 15 of them crashed).
	if pointers < 20 || total < 50 {
		t.Errorf("enumerated %d list and map fields, %d of objects; the walk lost its way", total, pointers)
	}
}

func TestNullElementPathsNamed(t *testing.T) {
	cases := []struct {
		kind model.Kind
		spec string
		want string
	}{
		{model.KindGateway, `{"servers":[null]}`, "spec.servers[0]: must not be null"},
		{model.KindVirtualService, `{"hosts":["r"],"http":[{"route":[null]}]}`, "spec.http[0].route[0]: must not be null"},
		{model.KindVirtualService, `{"hosts":["r"],"tcp":[null]}`, "spec.tcp[0]: must not be null"},
		{model.KindVirtualService, `{"hosts":["r"],"tls":[{"match":[null]}]}`, "spec.tls[0].match[0]: must not be null"},
		{model.KindVirtualService, `{"hosts":["r"],"http":[{"mirrors":[null]}]}`, "spec.http[0].mirrors[0]: must not be null"},
		{model.KindVirtualService, `{"hosts":["r"],"http":[{"match":[{"headers":{"x-a":null}}]}]}`, "spec.http[0].match[0].headers[x-a]: must not be null"},
		{model.KindDestinationRule, `{"host":"r","subsets":[null]}`, "spec.subsets[0]: must not be null"},
		{model.KindDestinationRule, `{"host":"r","subsets":[{"name":"v1","trafficPolicy":{"portLevelSettings":[null]}}]}`, "spec.subsets[0].trafficPolicy.portLevelSettings[0]: must not be null"},
		{model.KindDestinationRule, `{"host":"r","trafficPolicy":{"loadBalancer":{"localityLbSetting":{"distribute":[null]}}}}`, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0]: must not be null"},
		{model.KindServiceEntry, `{"hosts":["a.com"],"ports":[null]}`, "spec.ports[0]: must not be null"},
		{model.KindServiceEntry, `{"hosts":["a.com"],"ports":[{"number":80,"name":"http"}],"resolution":"STATIC","endpoints":[null]}`, "spec.endpoints[0]: must not be null"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := k8s.DecodeConfig(model.Meta{Kind: tc.kind, Name: "n", Namespace: "default"}, []byte(tc.spec))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want exactly %q", err, tc.want)
			}
		})
	}
}
