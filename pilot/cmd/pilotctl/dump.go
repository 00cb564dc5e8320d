package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The four types in a config dump, in push order, with the field of their dump that lists them and
// the field of each entry that holds the resource.
var dumpTypes = []struct {
	short, title, dump, list, entry string
}{
	{"clusters", "Clusters (CDS)", "ClustersConfigDump", "dynamicActiveClusters", "cluster"},
	{"endpoints", "Endpoints (EDS)", "EndpointsConfigDump", "dynamicEndpointConfigs", "endpointConfig"},
	{"listeners", "Listeners (LDS)", "ListenersConfigDump", "dynamicListeners", "activeState.listener"},
	{"routes", "Routes (RDS)", "RoutesConfigDump", "dynamicRouteConfigs", "routeConfig"},
}

// resourceJSON is one resource of a dump, as generic JSON (so that it re-encodes canonically: sorted
// keys, fixed indentation).
type resourceJSON struct {
	Name string
	Body map[string]any
}

// dumpResources splits Envoy admin config dump JSON into resources by type ("clusters", ...), sorted
// by name.
func dumpResources(raw []byte) (map[string][]resourceJSON, error) {
	var dump struct {
		Configs []map[string]any `json:"configs"`
	}
	if err := json.Unmarshal(raw, &dump); err != nil {
		return nil, fmt.Errorf("reading the config dump: %w", err)
	}
	out := map[string][]resourceJSON{}
	for _, cfg := range dump.Configs {
		typ, _ := cfg["@type"].(string)
		for _, dt := range dumpTypes {
			if !strings.HasSuffix(typ, "."+dt.dump) {
				continue
			}
			list, _ := cfg[dt.list].([]any)
			for _, item := range list {
				body := dig(item, dt.entry)
				if body == nil {
					continue
				}
				delete(body, "@type")
				out[dt.short] = append(out[dt.short], resourceJSON{Name: resourceName(dt.short, body), Body: body})
			}
			sort.Slice(out[dt.short], func(i, j int) bool { return out[dt.short][i].Name < out[dt.short][j].Name })
		}
	}
	return out, nil
}

// dig follows a dotted path of object fields.
func dig(v any, path string) map[string]any {
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	m, _ := v.(map[string]any)
	return m
}

func resourceName(short string, body map[string]any) string {
	key := "name"
	if short == "endpoints" {
		key = "clusterName"
	}
	name, _ := body[key].(string)
	return name
}

// canonical is a resource as indented JSON with sorted keys.
func canonical(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
