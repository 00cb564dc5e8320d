package kube

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// storedRule is a routing rule as its informer keeps it: the object without its spec (metadata and
// status, for the status writer and Events), and the spec as the JSON the decoder reads. As an
// unstructured map a VirtualService's spec is a tree of maps several times the size of its JSON,
// and nothing but the decoder ever reads it.
type storedRule struct {
	*unstructured.Unstructured
	spec json.RawMessage
}

// storeRule is slim's step for the routing rules. An object slimmed already is as it was.
func storeRule(u *unstructured.Unstructured) (*storedRule, error) {
	spec, err := json.Marshal(u.Object["spec"])
	if err != nil {
		return nil, fmt.Errorf("encoding the spec of %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	delete(u.Object, "spec") // the object is the informer's own, freshly decoded
	return &storedRule{Unstructured: u, spec: spec}, nil
}

// ruleOf is the object and spec of a cached rule; nil when there is none.
func ruleOf(obj any) *storedRule {
	r, _ := obj.(*storedRule)
	return r
}
