package modeltest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecObjects(t *testing.T) {
	spec := MeshSpec{Services: 4, Endpoints: 3, Namespaces: 2, Rules: RulesOne}
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range spec.Objects() {
		count[o.Kind()]++
	}
	want := map[string]int{"Service": 4, "EndpointSlice": 4, "Pod": 12, "DestinationRule": 1, "VirtualService": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", count[k], k, n, count)
		}
	}
	if a, b := string(objectsJSON(spec.Objects())), string(objectsJSON(spec.Objects())); a != b {
		t.Error("two generations of one spec differ")
	}
	if err := (MeshSpec{Services: 1, Rules: "some"}).Check(); err == nil {
		t.Error("an unknown rules layout must be refused")
	}
}

func objectsJSON(objs []Object) []byte {
	var out []byte
	for _, o := range objs {
		out = append(out, o.JSON()...)
	}
	return out
}

func TestDirWritesAtomicallyAndChecksWhatItOpens(t *testing.T) {
	path := t.TempDir()
	spec := MeshSpec{Services: 2, Endpoints: 2, Rules: RulesEach}
	d, err := WriteDir(path, spec.Objects())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(path, spec.Objects()); err == nil {
		t.Error("writing a mesh into a directory that holds one must fail")
	}
	if _, err := OpenDir(path, spec.Objects()); err != nil {
		t.Errorf("opening what was written: %v", err)
	}
	if _, err := OpenDir(path, MeshSpec{Services: 2, Endpoints: 3}.Objects()); err == nil {
		t.Error("opening a directory with another mesh's flags must fail")
	}

	// Adding an endpoint rewrites the service's file, with the Pod and the slice.
	flap := spec.FlapWorkload(0)
	if err := d.Write(context.Background(), spec.ServiceObjects(0, flap), nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(path, "svc-0.ns-0.yaml")
	body, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(body), FlapIP) || !strings.Contains(string(body), flap.Name) {
		t.Fatalf("the flap endpoint is not in %s: %v\n%s", file, err, body)
	}
	// Removing it again: the slice without it, the Pod gone.
	pod := spec.ServiceObjects(0, flap)[len(spec.ServiceObjects(0, flap))-1]
	if err := d.Write(context.Background(), spec.ServiceObjects(0), []Object{pod}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(path, spec.Objects()); err != nil {
		t.Errorf("after removing the endpoint the directory must hold the mesh again: %v", err)
	}
	// An added service gets a file of its own, emptied with its last object.
	added := spec.AddedService(0)
	if err := d.Write(context.Background(), added, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(context.Background(), nil, added); err != nil {
		t.Fatal(err)
	}
	if body, err := os.ReadFile(filepath.Join(path, "added-0.ns-0.yaml")); err != nil || len(body) != 0 {
		t.Errorf("the added service's file must be left empty: %v, %q", err, body)
	}
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
