package modeltest

import (
	"encoding/json"
	"fmt"
)

// Object is one Kubernetes-style manifest of a generated mesh, as plain data, so that the same object
// can be written to a file directory or sent to an API server (as an unstructured object) without
// this package knowing either.
type Object struct {
	// Group names the file the object lives in when the mesh is a directory: the objects of one
	// service share a file, so that a change to a service rewrites one small file.
	Group string
	Doc   map[string]any
}

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o.Doc["kind"].(string); return s }

// APIVersion is the object's apiVersion.
func (o Object) APIVersion() string { s, _ := o.Doc["apiVersion"].(string); return s }

// Namespace is the object's namespace.
func (o Object) Namespace() string { return o.meta("namespace") }

// Name is the object's name.
func (o Object) Name() string { return o.meta("name") }

// Key identifies the object in a mesh: kind, namespace and name.
func (o Object) Key() string { return o.Kind() + "/" + o.Namespace() + "/" + o.Name() }

func (o Object) meta(field string) string {
	m, _ := o.Doc["metadata"].(map[string]any)
	s, _ := m[field].(string)
	return s
}

// JSON is the manifest as JSON, with sorted keys (deterministic).
func (o Object) JSON() []byte {
	b, err := json.Marshal(o.Doc)
	if err != nil {
		panic(fmt.Sprintf("modeltest: %s does not marshal: %v", o.Key(), err))
	}
	return b
}

// manifest builds a document's top level.
func manifest(apiVersion, kind, ns, name string, labels map[string]string, body map[string]any) map[string]any {
	meta := map[string]any{"name": name, "namespace": ns}
	if len(labels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		meta["labels"] = l
	}
	doc := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range body {
		doc[k] = v
	}
	return doc
}
