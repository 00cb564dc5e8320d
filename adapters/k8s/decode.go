package k8s

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DecodeStrict decodes JSON into out and refuses what Kubernetes' strict decoding refuses: unknown
// fields and values of the wrong type. Its errors name the field as a path ("spec.http[0].route"),
// which encoding/json alone does not do for unknown fields.
func DecodeStrict(data []byte, out any, root string) error {
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return fmt.Errorf("%s: %w", root, err)
	}
	if p := unknownField(generic, reflect.TypeOf(out), root); p != "" {
		return fmt.Errorf("%s: unknown field", strings.TrimPrefix(p, "."))
	}
	if err := json.Unmarshal(data, out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := root
			if te.Field != "" {
				field = root + "." + te.Field
			}
			return fmt.Errorf("%s: a %s cannot go in a field of type %s", strings.TrimPrefix(field, "."), te.Value, te.Type)
		}
		return fmt.Errorf("%s: %w", root, err)
	}
	return nil
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// unknownField walks a decoded JSON value beside the Go type it is meant for and returns the path of
// the first key (in sorted order, for stable messages) the type has no field for.
func unknownField(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshaler) {
			return "" // custom decoding (durations, quantities, times): its own rules apply
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return ""
	}
	switch val := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for _, k := range slices.Sorted(maps.Keys(val)) {
				if p := unknownField(val[k], t.Elem(), path+"["+k+"]"); p != "" {
					return p
				}
			}
		case reflect.Struct:
			fields := jsonFields(t)
			for _, k := range slices.Sorted(maps.Keys(val)) {
				ft, ok := fields[k]
				if !ok {
					return path + "." + k
				}
				if p := unknownField(val[k], ft, path+"."+k); p != "" {
					return p
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, item := range val {
				if p := unknownField(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// jsonFields maps the JSON names of a struct's fields (embedded and inline structs flattened) to types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		inline := strings.Contains(opts, "inline") || (f.Anonymous && name == "")
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					fields[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}
