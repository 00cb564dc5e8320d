package validation

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// noNulls runs nulls over a whole spec and says whether it found none.
func (r *Result) noNulls(spec path, v any) bool {
	before := len(r.Errors)
	r.nulls(spec, reflect.ValueOf(v))
	return len(r.Errors) == before
}

// nulls reports every null element of a list or map below v, such as `route: [null]`. JSON decodes
// those into nil pointers, which no other check (nor the translator) expects. The API server's
// schema refuses them, but manifest files do not pass through it, so each validator looks for them
// first and stops if it finds any: everything after may assume that list and map elements exist.
//
// The walk is driven by the types, so a list field added to the API later is covered without a
// change here. Only fields with a JSON name are followed, and the names make the paths.
func (r *Result) nulls(p path, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			r.nulls(p, v.Elem())
		}
	case reflect.Struct:
		if reflect.PointerTo(v.Type()).Implements(jsonUnmarshaler) {
			return // a scalar in JSON (a duration): nothing below it can be null
		}
		t := v.Type()
		for i := range t.NumField() {
			if name := jsonName(t.Field(i)); name != "" {
				r.nulls(p.f(name), v.Field(i))
			}
		}
	case reflect.Slice:
		if !mayHoldNull(v.Type().Elem()) {
			return
		}
		for i := range v.Len() {
			r.element(p.i(i), v.Index(i))
		}
	case reflect.Map:
		if !mayHoldNull(v.Type().Elem()) {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			r.element(p.k(k.String()), v.MapIndex(k))
		}
	}
}

func (r *Result) element(p path, e reflect.Value) {
	if (e.Kind() == reflect.Pointer || e.Kind() == reflect.Map || e.Kind() == reflect.Slice) && e.IsNil() {
		r.errorf(p, "must not be null")
		return
	}
	r.nulls(p, e)
}

// mayHoldNull says whether elements of type t can be null or contain something that can.
func mayHoldNull(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct, reflect.Slice, reflect.Map:
		return true
	}
	return false
}

// jsonName is the field's name in JSON; empty for fields JSON does not see.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}
