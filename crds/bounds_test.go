package crds_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// boundBaselines are valid rules that between them reach every numeric and duration field of the
// API with the translator: each field of each is set in turn to the extremes of its type.
var boundBaselines = []struct{ kind, spec string }{
	{dr, `
host: reviews
trafficPolicy:
  loadBalancer:
    simple: ROUND_ROBIN
    warmupDurationSecs: 10s
    localityLbSetting:
      distribute: [{from: "r1/*", to: {"r1/*": 80, "r2/*": 20}}]
  connectionPool:
    tcp: {maxConnections: 10, connectTimeout: 1s, maxConnectionDuration: 1h, idleTimeout: 1h,
      tcpKeepalive: {probes: 3, time: 10s, interval: 10s}}
    http: {http1MaxPendingRequests: 1, http2MaxRequests: 1, maxRequestsPerConnection: 1, maxRetries: 1,
      idleTimeout: 1s, maxConcurrentStreams: 10, h2UpgradePolicy: UPGRADE}
  outlierDetection: {consecutive5xxErrors: 1, consecutiveGatewayErrors: 1, interval: 1s, baseEjectionTime: 1s,
    maxEjectionPercent: 10, minHealthPercent: 10, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 1}
  portLevelSettings:
  - port: {number: 9080}
    loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 1s}
    connectionPool: {tcp: {maxConnections: 1}, http: {maxConcurrentStreams: 1, useClientProtocol: true}}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s}
subsets:
- {name: v1, labels: {version: v1}}
- name: v2
  labels: {version: v2}
  trafficPolicy:
    connectionPool: {tcp: {tcpKeepalive: {probes: 1, time: 1s, interval: 1s}}}
`},
	{dr, `
host: reviews
trafficPolicy:
  loadBalancer:
    consistentHash: {httpCookie: {name: c, ttl: 10s}, ringHash: {minimumRingSize: 1024}}
`},
	{dr, `
host: reviews
trafficPolicy:
  loadBalancer:
    consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}
`},
	{dr, `
host: reviews
trafficPolicy:
  loadBalancer:
    consistentHash: {useSourceIp: true, minimumRingSize: 1024}
`},
	{dr, `
host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 2}
  loadBalancer:
    localityLbSetting: {failover: [{from: r1, to: r2}]}
`},
	{dr, `
host: mongo
trafficPolicy:
  connectionPool: {tcp: {maxConnections: 1, connectTimeout: 1s, idleTimeout: 1s, maxConnectionDuration: 1s}}
`},
	{vs, `
hosts: [reviews]
http:
- match: [{port: 9080, uri: {prefix: /a}}]
  route:
  - {destination: {host: reviews, subset: v1, port: {number: 9080}}, weight: 60}
  - {destination: {host: reviews, subset: v2, port: {number: 9080}}, weight: 40}
  timeout: 10s
  retries: {attempts: 3, perTryTimeout: 1s, retryOn: 5xx}
  fault:
    delay: {fixedDelay: 1s, percentage: {value: 10}}
    abort: {httpStatus: 503, percentage: {value: 10}}
  mirror: {host: reviews, subset: v1, port: {number: 9080}}
  mirrorPercentage: {value: 5}
  corsPolicy: {allowOrigins: [{exact: "https://a.example"}], maxAge: 24h}
- match: [{uri: {prefix: /b}}]
  route: [{destination: {host: reviews}}]
  mirrors: [{destination: {host: reviews, subset: v2}, percentage: {value: 1}}]
  fault: {delay: {fixedDelay: 1s, percent: 10}, abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}}
- match: [{uri: {prefix: /c}}]
  route: [{destination: {host: reviews}}]
  mirror: {host: reviews}
  mirrorPercent: 5
- match: [{uri: {prefix: /d}}]
  redirect: {uri: /e, port: 8080, redirectCode: 302}
- match: [{uri: {prefix: /f}}]
  directResponse: {status: 200, body: {string: ok}}
- route: [{destination: {host: reviews}, weight: 100}]
`},
	{vs, `
hosts: [mongo]
tcp:
- match: [{port: 27017, destinationSubnets: [10.0.0.0/8]}]
  route:
  - {destination: {host: mongo, port: {number: 27017}}, weight: 50}
  - {destination: {host: mongo, port: {number: 27017}}, weight: 50}
`},
	{vs, `
hosts: [secure]
tls:
- match: [{port: 443, sniHosts: [secure]}]
  route: [{destination: {host: secure, port: {number: 443}}, weight: 100}]
`},
	{se, `
hosts: [api.example.com]
ports: [{number: 443, name: tls, protocol: TLS, targetPort: 8443}]
resolution: STATIC
endpoints:
- {address: 10.2.0.1, ports: {tls: 9443}, weight: 2, locality: r1/z1}
- {address: 10.2.0.2, weight: 3}
`},
	{se, `
hosts: [db.example.com]
ports: [{number: 5432, name: tcp, protocol: TCP}]
resolution: DNS
endpoints: [{address: db.example.com, weight: 1}]
`},
	{gw, `
selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["*"]
- port: {number: 443, name: tls, protocol: TLS}
  hosts: ["*"]
  tls: {mode: PASSTHROUGH}
`},
}

// TestAcceptedExtremesMakeValidEnvoyConfig sets each numeric and duration field of the baselines
// to the extremes of its type. Whatever the validator accepts must translate into resources that
// pass Envoy's validation: before, minimumRingSize 2^40 (and others) were accepted and their clusters
// silently left out, because Envoy's bounds are narrower than the API's types.
func TestAcceptedExtremesMakeValidEnvoyConfig(t *testing.T) {
	accepted := 0
	for i, base := range boundBaselines {
		meta := model.Meta{Kind: model.Kind(base.kind), Name: fmt.Sprintf("b%d", i), Namespace: "default"}
		cfg := decodeBaseline(t, meta, base.spec)
		if problems := translationFailures(cfg); len(problems) > 0 {
			t.Fatalf("baseline %d does not translate cleanly: %v", i, problems)
		}
		for leaf := range len(numericLeaves(cfg)) {
			for _, value := range extremes(numericLeaves(cfg)[leaf].typ) {
				c := decodeBaseline(t, meta, base.spec)
				l := numericLeaves(c)[leaf]
				l.set(value)
				spec, err := yaml.Marshal(specOf(c))
				if err != nil {
					t.Fatal(err)
				}
				json, _ := yaml.YAMLToJSON(spec)
				got, _, err := k8s.DecodeConfig(meta, json)
				if err != nil {
					continue // refused: fine, it names the field and the bound
				}
				accepted++
				for _, p := range translationFailures(got) {
					t.Errorf("%s %s = %v is accepted, but %s", base.kind, l.path, value, p)
				}
			}
		}
	}
	t.Logf("%d variations accepted", accepted)
	if accepted < 100 {
		t.Errorf("only %d variations were accepted: the baselines no longer exercise the translator", accepted)
	}
}

func decodeBaseline(t *testing.T, meta model.Meta, spec string) model.Config {
	t.Helper()
	json, err := yaml.YAMLToJSON([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := k8s.DecodeConfig(meta, json)
	if err != nil {
		t.Fatalf("baseline %s refused: %v\n%s", meta.Kind, err, spec)
	}
	return cfg
}

func specOf(c model.Config) any {
	switch c := c.(type) {
	case *model.VirtualService:
		return c.Spec
	case *model.DestinationRule:
		return c.Spec
	case *model.ServiceEntry:
		return c.Spec
	case *model.Gateway:
		return c.Spec
	}
	return nil
}

// leaf is a numeric or duration field that is present in a spec.
type leaf struct {
	path string
	typ  reflect.Type
	set  func(v any)
}

var durationPtrType = reflect.TypeFor[*networking.Duration]()

// numericLeaves lists the spec's numeric and duration fields (inside the objects the spec holds) in
// a stable order, so that the n-th leaf of two decodings of one document is the same field.
func numericLeaves(c model.Config) []leaf {
	var out []leaf
	var walk func(v reflect.Value, p string)
	walk = func(v reflect.Value, p string) {
		switch {
		case v.Type() == durationPtrType:
			if !v.IsNil() {
				out = append(out, leaf{p, durationPtrType, func(x any) { v.Set(reflect.ValueOf(networking.NewDuration(x.(time.Duration)))) }})
			}
			return
		case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Uint32:
			if !v.IsNil() {
				out = append(out, leaf{p, v.Type().Elem(), func(x any) { v.Elem().SetUint(uint64(x.(uint32))) }})
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), p)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
				if name != "" && name != "-" {
					walk(v.Field(i), p+"."+name)
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", p, i))
			}
		case reflect.Map:
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				if v.Type().Elem().Kind() == reflect.Uint32 {
					out = append(out, leaf{p + "[" + k.String() + "]", v.Type().Elem(), func(x any) { v.SetMapIndex(k, reflect.ValueOf(x.(uint32))) }})
				} else if v.Type().Elem().Kind() == reflect.Pointer {
					walk(v.MapIndex(k), p+"["+k.String()+"]")
				}
			}
		case reflect.Int32:
			out = append(out, leaf{p, v.Type(), func(x any) { v.SetInt(int64(x.(int32))) }})
		case reflect.Uint32:
			out = append(out, leaf{p, v.Type(), func(x any) { v.SetUint(uint64(x.(uint32))) }})
		case reflect.Uint64:
			out = append(out, leaf{p, v.Type(), func(x any) { v.SetUint(x.(uint64)) }})
		case reflect.Float64:
			out = append(out, leaf{p, v.Type(), func(x any) { v.SetFloat(x.(float64)) }})
		}
	}
	walk(reflect.ValueOf(specOf(c)), "spec")
	return out
}

// extremes are the values each type's fields are tried with: its limits, and the edges of the
// ranges that ports, percentages, status codes and Envoy's own bounds use.
func extremes(t reflect.Type) []any {
	switch t {
	case durationPtrType:
		return []any{time.Duration(0), time.Nanosecond, time.Millisecond - 1, time.Millisecond, time.Second,
			32767 * time.Second, 32768 * time.Second, time.Duration(math.MaxUint32+1) * time.Second, time.Duration(math.MaxInt64)}
	}
	switch t.Kind() {
	case reflect.Int32:
		return []any{int32(math.MinInt32), int32(-1), int32(0), int32(1), int32(100), int32(101), int32(599), int32(600),
			int32(65535), int32(65536), int32(math.MaxInt32)}
	case reflect.Uint32:
		return []any{uint32(0), uint32(1), uint32(100), uint32(101), uint32(127), uint32(128), uint32(65535), uint32(65536),
			uint32(1 << 31), uint32(math.MaxUint32)}
	case reflect.Uint64:
		return []any{uint64(0), uint64(1), uint64(2), uint64(8388608), uint64(8388609), uint64(5000011), uint64(5000077),
			uint64(1) << 40, uint64(math.MaxUint64)}
	case reflect.Float64:
		return []any{-1.0, 0.0, 1e-300, 0.0001, 50.0, 100.0, 100.0001, 1e300}
	}
	panic("no extremes for " + t.String())
}

// boundsMesh is what the baselines route to: an HTTP, a TCP and a TLS service with endpoints in two
// localities and two versions.
func boundsMesh() model.Part {
	var part model.Part
	for _, s := range []struct {
		name  string
		port  uint32
		proto model.Protocol
	}{{"reviews", 9080, model.ProtocolHTTP}, {"mongo", 27017, model.ProtocolTCP}, {"secure", 443, model.ProtocolTLS}} {
		host := model.ServiceHostname(s.name, "default", "cluster.local")
		part.Services = append(part.Services, &model.Service{Hostname: host, Name: s.name, Namespace: "default",
			Address: "10.96.0.1", Ports: []model.Port{{Name: "p", Port: s.port, Protocol: s.proto}}})
		for i, loc := range []model.Locality{{Region: "r1", Zone: "z1"}, {Region: "r2", Zone: "z2"}} {
			part.Endpoints = append(part.Endpoints, &model.Endpoint{Service: host, ServicePort: "p", Address: fmt.Sprintf("10.1.0.%d", i+1),
				Port: s.port, Ready: true, Locality: loc, Labels: map[string]string{"version": fmt.Sprintf("v%d", i+1)}})
		}
	}
	return part
}

// translationFailures translates the mesh with cfg for a sidecar, a gRPC client and a gateway and
// says what fails Envoy's validation, down into the typed configs inside Any fields.
func translationFailures(cfg model.Config) []string {
	part := boundsMesh()
	part.Add(cfg)
	snap := model.NewSnapshot("cluster.local", 1, time.Time{}, part)
	sidecar, _ := model.ParseNodeID("sidecar~10.1.0.9~app.default~default.svc.cluster.local")
	sidecar.Locality = model.Locality{Region: "r1", Zone: "z1"}
	grpc, _ := model.ParseNodeID("sidecar~10.1.0.8~client.default~default.svc.cluster.local")
	grpc.Proxyless = true
	router, _ := model.ParseNodeID("router~10.1.0.7~gw.default~default.svc.cluster.local")
	router.Labels = map[string]string{"istio": "ingressgateway"}
	var problems []string
	for _, run := range []struct {
		proxy     *model.Proxy
		listeners []string
	}{{sidecar, nil}, {grpc, []string{"reviews.default.svc.cluster.local:9080"}}, {router, nil}} {
		res := translate.ForProxy(snap, run.proxy, run.listeners)
		who := string(run.proxy.Type)
		if run.proxy.Proxyless {
			who = "gRPC"
		}
		for _, w := range res.Warnings {
			if strings.Contains(w, "fails validation") {
				problems = append(problems, fmt.Sprintf("for %s: %s", who, w))
			}
		}
		var all []proto.Message
		for _, c := range res.Clusters {
			all = append(all, c)
		}
		for _, e := range res.Endpoints {
			all = append(all, e)
		}
		for _, l := range res.Listeners {
			all = append(all, l)
		}
		for _, r := range res.Routes {
			all = append(all, r)
		}
		for _, m := range all {
			problems = append(problems, invalidAnys(m.ProtoReflect())...)
		}
	}
	return problems
}

// invalidAnys unpacks every Any under m (ValidateAll stops at them) and validates what it holds.
func invalidAnys(m protoreflect.Message) []string {
	var out []string
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return []string{fmt.Sprintf("cannot unpack %s: %v", a.GetTypeUrl(), err)}
		}
		if v, ok := inner.(interface{ ValidateAll() error }); ok {
			if err := v.ValidateAll(); err != nil {
				out = append(out, fmt.Sprintf("%s fails validation: %v", a.GetTypeUrl(), err))
			}
		}
		return append(out, invalidAnys(inner.ProtoReflect())...)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := range v.List().Len() {
				out = append(out, invalidAnys(v.List().Get(i).Message())...)
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					out = append(out, invalidAnys(mv.Message())...)
					return true
				})
			}
		default:
			out = append(out, invalidAnys(v.Message())...)
		}
		return true
	})
	return out
}
