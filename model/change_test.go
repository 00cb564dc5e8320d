package model

import (
	"reflect"
	"testing"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

// Equal must look at every field: a field it missed would be a change that is never pushed. The
// test changes each field of a full object in turn, by reflection, so a new field fails it until
// Equal compares it.
func TestEqualComparesEveryField(t *testing.T) {
	ep := &Endpoint{Service: "s", ServicePort: "http", Address: "10.0.0.1", Port: 80, Labels: map[string]string{"a": "b"},
		Ready: true, Locality: Locality{Region: "r", Zone: "z", SubZone: "s"}, Weight: 1, Workload: "w", Cluster: "c"}
	svc := &Service{Hostname: "h", Name: "n", Namespace: "ns", Address: "10.96.0.1", Addresses: []string{"a"},
		SubjectAltNames: []string{"s"}, ExternalName: "e", Resolution: DNSLB, Ports: []Port{{Name: "p", Port: 1, Protocol: ProtocolHTTP, TargetPort: 2}},
		Labels: map[string]string{"a": "b"}, MeshExternal: true, ExportTo: []string{"."}, Clusters: []string{"c"}}
	for _, tc := range []struct {
		obj   any
		equal func(a, b any) bool
	}{
		{ep, func(a, b any) bool { return a.(*Endpoint).Equal(b.(*Endpoint)) }},
		{svc, func(a, b any) bool { return a.(*Service).Equal(b.(*Service)) }},
	} {
		v := reflect.ValueOf(tc.obj).Elem()
		for i := range v.NumField() {
			changed := reflect.New(v.Type())
			changed.Elem().Set(v)
			if !mutate(changed.Elem().Field(i)) {
				t.Fatalf("%s.%s: the test cannot change a field of kind %s; teach mutate", v.Type().Name(), v.Type().Field(i).Name, v.Field(i).Kind())
			}
			if tc.equal(tc.obj, changed.Interface()) {
				t.Errorf("%s.Equal ignores field %s", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
		if !tc.equal(tc.obj, tc.obj) {
			t.Errorf("%T is not equal to itself", tc.obj)
		}
	}
}

// mutate sets a field to a different value; slices and maps get a new backing so the original is
// untouched.
func mutate(f reflect.Value) bool {
	switch f.Kind() {
	case reflect.String:
		f.SetString(f.String() + "x")
	case reflect.Bool:
		f.SetBool(!f.Bool())
	case reflect.Uint32, reflect.Uint64, reflect.Uint:
		f.SetUint(f.Uint() + 1)
	case reflect.Int, reflect.Int64:
		f.SetInt(f.Int() + 1)
	case reflect.Slice:
		n := reflect.MakeSlice(f.Type(), f.Len()+1, f.Len()+1)
		reflect.Copy(n, f)
		f.Set(n)
	case reflect.Map:
		n := reflect.MakeMap(f.Type())
		n.SetMapIndex(reflect.ValueOf("changed"), reflect.ValueOf("yes"))
		f.Set(n)
	case reflect.Struct:
		return f.NumField() > 0 && mutate(f.Field(0))
	default:
		return false
	}
	return true
}

func TestDiff(t *testing.T) {
	svc := func(name string) *Service {
		return &Service{Hostname: name + ".default.svc.cluster.local", Name: name, Namespace: "default",
			Ports: []Port{{Name: "http", Port: 80, Protocol: ProtocolHTTP}}}
	}
	ep := func(name, addr string) *Endpoint {
		return &Endpoint{Service: name + ".default.svc.cluster.local", ServicePort: "http", Address: addr, Port: 80, Ready: true}
	}
	base := Part{Services: []*Service{svc("a"), svc("b")}, Endpoints: []*Endpoint{ep("a", "10.0.0.1"), ep("b", "10.0.0.2")}}
	snap := func(p Part) *Snapshot { return NewSnapshot("cluster.local", 1, time.Time{}, p) }
	with := func(change func(p *Part)) Part {
		p := base
		p.Services, p.Endpoints = append([]*Service(nil), base.Services...), append([]*Endpoint(nil), base.Endpoints...)
		change(&p)
		return p
	}
	for name, tc := range map[string]struct {
		next      Part
		config    bool
		routing   bool // only VirtualServices changed
		endpoints []string
		addresses []string
	}{
		"nothing, new objects": {next: Part{Services: []*Service{svc("a"), svc("b")}, Endpoints: []*Endpoint{ep("a", "10.0.0.1"), ep("b", "10.0.0.2")}}},
		"an endpoint added": {next: with(func(p *Part) { p.Endpoints = append(p.Endpoints, ep("a", "10.0.0.3")) }),
			endpoints: []string{"a"}, addresses: []string{"10.0.0.3"}},
		"an endpoint not ready": {next: with(func(p *Part) { e := *p.Endpoints[1]; e.Ready = false; p.Endpoints[1] = &e }),
			endpoints: []string{"b"}, addresses: []string{"10.0.0.2"}},
		"a service's endpoints gone": {next: with(func(p *Part) { p.Endpoints = p.Endpoints[:1] }),
			endpoints: []string{"b"}, addresses: []string{"10.0.0.2"}},
		"a service port added": {next: with(func(p *Part) {
			s := *p.Services[0]
			s.Ports = append(s.Ports, Port{Name: "grpc", Port: 81, Protocol: ProtocolGRPC})
			p.Services[0] = &s
		}), config: true},
		"a rule added": {next: with(func(p *Part) {
			p.VirtualServices = []*VirtualService{{Meta: Meta{Kind: KindVirtualService, Name: "a", Namespace: "default"},
				Spec: &networking.VirtualService{Hosts: []string{"a"}}}}
		}), config: true, routing: true},
		"a rule and a service port": {next: with(func(p *Part) {
			p.VirtualServices = []*VirtualService{{Meta: Meta{Kind: KindVirtualService, Name: "a", Namespace: "default"},
				Spec: &networking.VirtualService{Hosts: []string{"a"}}}}
			s := *p.Services[0]
			s.Ports = append(s.Ports, Port{Name: "grpc", Port: 81, Protocol: ProtocolGRPC})
			p.Services[0] = &s
		}), config: true},
		"a DestinationRule added": {next: with(func(p *Part) {
			p.DestinationRules = []*DestinationRule{{Meta: Meta{Kind: KindDestinationRule, Name: "a", Namespace: "default"},
				Spec: &networking.DestinationRule{Host: "a"}}}
		}), config: true},
	} {
		t.Run(name, func(t *testing.T) {
			c := Diff(snap(base), snap(tc.next))
			if c.RoutingOnly != tc.routing {
				t.Errorf("RoutingOnly %v, want %v", c.RoutingOnly, tc.routing)
			}
			if c.Config != tc.config || !sameKeys(c.Endpoints, suffixed(tc.endpoints)) || !sameKeys(c.Addresses, tc.addresses) {
				t.Errorf("got config %v, endpoints %v, addresses %v; want %v, %v, %v", c.Config, c.Endpoints, c.Addresses, tc.config, tc.endpoints, tc.addresses)
			}
		})
	}
	if c := Diff(nil, snap(base)); !c.Config || len(c.Endpoints) != 2 {
		t.Errorf("from nothing: %+v", c)
	}
}

func suffixed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + ".default.svc.cluster.local"
	}
	return out
}

func sameKeys(m map[string]bool, want []string) bool {
	if len(m) != len(want) {
		return false
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}
