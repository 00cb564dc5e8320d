package crds_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1 "github.com/minipilot/minipilot/crds/apis/networking/v1"
	"github.com/minipilot/minipilot/crds/apis/networking/v1alpha3"
	"github.com/minipilot/minipilot/crds/apis/networking/v1beta1"
	"github.com/minipilot/minipilot/crds/networking"
)

// crdFiles are the manifests `kubectl apply -f crds/` installs, with the wrapper type of each
// served version.
var crdFiles = map[string]map[string]any{
	"networking.istio.io_virtualservices.yaml": {
		"v1": v1.VirtualService{}, "v1beta1": v1beta1.VirtualService{}, "v1alpha3": v1alpha3.VirtualService{}},
	"networking.istio.io_destinationrules.yaml": {
		"v1": v1.DestinationRule{}, "v1beta1": v1beta1.DestinationRule{}, "v1alpha3": v1alpha3.DestinationRule{}},
	"networking.istio.io_serviceentries.yaml": {
		"v1": v1.ServiceEntry{}, "v1beta1": v1beta1.ServiceEntry{}, "v1alpha3": v1alpha3.ServiceEntry{}},
	"networking.istio.io_gateways.yaml": {
		"v1": v1.Gateway{}, "v1beta1": v1beta1.Gateway{}, "v1alpha3": v1alpha3.Gateway{}},
	"networking.istio.io_sidecars.yaml": {
		"v1": v1.Sidecar{}, "v1beta1": v1beta1.Sidecar{}, "v1alpha3": v1alpha3.Sidecar{}},
}

// TestGeneratedCRDsUpToDate runs `make generate` into a temp dir and compares with crds/: the
// manifests must be what controller-gen makes of the current Go types and markers.
func TestGeneratedCRDsUpToDate(t *testing.T) {
	bin := controllerGen(t)
	out := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "-s", "-f", "Makefile.codegen", "generate",
		"CODEGEN_BIN_DIR="+filepath.Dir(bin), "CRD_DIR="+out)
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make generate: %v\n%s", err, b)
	}
	generated, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	committed, _ := filepath.Glob("*.yaml")
	if names(generated) != names(committed) {
		t.Errorf("crds/ holds %s, controller-gen makes %s", names(committed), names(generated))
	}
	for _, g := range generated {
		want, _ := os.ReadFile(g)
		got, err := os.ReadFile(filepath.Base(g))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("crds/%s is out of date with the Go types: run `make generate`", filepath.Base(g))
		}
	}
}

// controllerGen finds the controller-gen that `make generate` builds. Like the kube binaries,
// a missing one fails the test unless MINIPILOT_ALLOW_SKIP_KUBE=1.
func controllerGen(t *testing.T) string {
	dir := os.Getenv("MINIPILOT_BIN_DIR")
	if dir == "" {
		dir = "../bin"
	}
	bin, err := filepath.Abs(filepath.Join(dir, "controller-gen"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		msg := bin + " not found: run `make codegen-bins` (set MINIPILOT_ALLOW_SKIP_KUBE=1 to skip instead)"
		if os.Getenv("MINIPILOT_ALLOW_SKIP_KUBE") == "1" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return bin
}

func names(paths []string) string {
	var n []string
	for _, p := range paths {
		n = append(n, filepath.Base(p))
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

// TestCRDSchemasMatchGoTypes needs no tools: every JSON field of the Go types must be in every
// served version's schema with a matching type, and the schema must have no other field. It
// also checks the properties the rest of the project relies on.
func TestCRDSchemasMatchGoTypes(t *testing.T) {
	for file, kinds := range crdFiles {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if bytes.Contains(raw, []byte("x-kubernetes-preserve-unknown-fields")) {
			t.Errorf("%s: unknown fields must be refused, not preserved", file)
		}
		var storage []string
		var firstSchema any
		for _, ver := range get(crd, "spec", "versions").([]any) {
			name := get(ver, "name").(string)
			schema := get(ver, "schema", "openAPIV3Schema")
			typ, ok := kinds[name]
			if !ok {
				t.Errorf("%s: unexpected version %s", file, name)
				continue
			}
			delete(kinds, name) // kinds is only read by this test
			checkSchema(t, file+" "+name, reflect.TypeOf(typ), schema)
			if get(ver, "storage") == true {
				storage = append(storage, name)
			}
			if get(ver, "served") != true || get(ver, "subresources", "status") == nil {
				t.Errorf("%s %s: must be served, with a status subresource", file, name)
			}
			if firstSchema == nil {
				firstSchema = schema
			} else if !reflect.DeepEqual(schema, firstSchema) {
				t.Errorf("%s %s: the schema differs from the other versions'", file, name)
			}
		}
		if len(kinds) > 0 {
			t.Errorf("%s: versions missing: %v", file, kinds)
		}
		if !slices.Equal(storage, []string{"v1"}) {
			t.Errorf("%s: storage versions %v, want [v1]", file, storage)
		}
	}
}

var (
	durationType = reflect.TypeOf(networking.Duration{})
	timeType     = reflect.TypeOf(metav1.Time{})
	objectMeta   = reflect.TypeOf(metav1.ObjectMeta{})
)

// checkSchema compares a schema with the JSON encoding of a Go type, recursively.
func checkSchema(t *testing.T, path string, typ reflect.Type, schema any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if schema == nil {
		t.Errorf("%s: no schema for %s", path, typ)
		return
	}
	want := "object"
	switch {
	case typ == durationType || typ == timeType || typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
		want = "string" // []byte is base64
	case typ.Kind() == reflect.Slice:
		want = "array"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = "integer"
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		want = "number"
	}
	if got := get(schema, "type"); got != want {
		t.Errorf("%s: schema type %v, want %s for %s", path, got, want, typ)
		return
	}
	switch {
	case want == "array":
		checkSchema(t, path+"[]", typ.Elem(), get(schema, "items"))
	case typ.Kind() == reflect.Map:
		checkSchema(t, path+"{}", typ.Elem(), get(schema, "additionalProperties"))
	case typ.Kind() == reflect.Struct && want == "object" && typ != objectMeta:
		props, _ := get(schema, "properties").(map[string]any)
		fields := jsonFields(typ)
		for name, ft := range fields {
			if _, ok := props[name]; !ok {
				t.Errorf("%s.%s: in the Go type, not in the schema", path, name)
				continue
			}
			checkSchema(t, path+"."+name, ft, props[name])
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s: in the schema, not in the Go type", path, name)
			}
		}
	}
}

// jsonFields maps the JSON names of a struct's fields to their types, flattening embedded
// structs as encoding/json does.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && name == "":
			for n, t := range jsonFields(f.Type) {
				fields[n] = t
			}
		default:
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
	}
	return fields
}

// get walks nested maps by keys; nil when any is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
