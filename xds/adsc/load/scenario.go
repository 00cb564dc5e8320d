package load

import (
	"context"
	"fmt"
	"strings"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/model/modeltest"
)

// Writer changes the mesh a server serves: a directory (modeltest.Dir) or a Kubernetes API server
// (adapters/kube/kubemesh). It applies (creates or replaces) objects, then removes others.
type Writer interface {
	Write(ctx context.Context, apply, remove []modeltest.Object) error
}

// Change is one step of a churn scenario: what to write, and what every sidecar must then hold.
type Change struct {
	What          string
	Apply, Remove []modeltest.Object
	Expect        []Expect
}

// Scenario is a repeatable change to a generated mesh.
type Scenario struct {
	Name string
	// Probes are watched from the scenario's start to its end; a probe only a change's Expect names
	// is watched during that change alone.
	Probes []*Probe
	// Change is the i-th change (from 0).
	Change func(i int) Change
	// Restore undoes n changes, so that the mesh is as generated again.
	Restore func(n int) Change
	// MaxChanges bounds how many changes the scenario can make; 0 means no bound.
	MaxChanges int
}

// Scenario names.
const (
	EndpointFlap = "endpoint-flap"
	VSEdit       = "vs-edit"
	ServiceAdd   = "service-add"
)

// ScenarioNames lists the scenarios.
func ScenarioNames() []string { return []string{EndpointFlap, VSEdit, ServiceAdd} }

// NewScenario builds a named scenario for a mesh.
func NewScenario(name string, spec modeltest.MeshSpec) (Scenario, error) {
	switch name {
	case EndpointFlap:
		return endpointFlap(spec), nil
	case VSEdit:
		if !spec.HasRules(0) {
			return Scenario{}, fmt.Errorf("%s needs a VirtualService on svc-0: the mesh has rules %q", VSEdit, spec.Rules)
		}
		return vsEdit(spec), nil
	case ServiceAdd:
		return serviceAdd(spec), nil
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(ScenarioNames(), ", "))
}

// endpointFlap adds one endpoint (a Pod in subset v1) to svc-0 and removes it again, alternately. In
// Kubernetes the Pod comes first and the slice follows, and the slice drops the endpoint before the
// Pod goes, as the endpoint controller has it.
func endpointFlap(spec modeltest.MeshSpec) Scenario {
	flap := spec.FlapWorkload(0)
	with := spec.ServiceObjects(0, flap)
	slice, pod := only(with, "EndpointSlice", spec.ServiceName(0)), only(with, "Pod", flap.Name)
	without := only(spec.ServiceObjects(0), "EndpointSlice", spec.ServiceName(0))
	probe := &Probe{TypeURL: resourcev3.EndpointType, Name: []byte("|" + spec.Host(0)), Marker: addressMarker(flap.IP)}
	add := Change{What: "add " + flap.IP + " to " + spec.ServiceName(0), Apply: []modeltest.Object{pod, slice},
		Expect: []Expect{{Probe: probe, Present: true}}}
	remove := Change{What: "remove " + flap.IP + " from " + spec.ServiceName(0), Apply: []modeltest.Object{without},
		Remove: []modeltest.Object{pod}, Expect: []Expect{{Probe: probe, Present: false}}}
	return Scenario{
		Name: EndpointFlap, Probes: []*Probe{probe},
		Change: func(i int) Change {
			if i%2 == 0 {
				return add
			}
			return remove
		},
		Restore: func(n int) Change {
			if n%2 == 1 {
				return remove
			}
			return Change{}
		},
	}
}

// vsEdit flips svc-0's split between subsets v1 and v2 from 90/10 to 10/90 and back.
func vsEdit(spec modeltest.MeshSpec) Scenario {
	v1 := fmt.Sprintf("outbound|%d|v1|%s", modeltest.Port, spec.Host(0))
	w10 := &Probe{TypeURL: resourcev3.RouteType, Marker: weightMarker(v1, 10)}
	w90 := &Probe{TypeURL: resourcev3.RouteType, Marker: weightMarker(v1, 90)}
	to := func(weight int, now, before *Probe) Change {
		return Change{What: fmt.Sprintf("%s: v1 weight %d", spec.ServiceName(0), weight),
			Apply:  []modeltest.Object{spec.VirtualService(0, weight)},
			Expect: []Expect{{Probe: now, Present: true}, {Probe: before, Present: false}}}
	}
	flip, back := to(10, w10, w90), to(90, w90, w10)
	return Scenario{
		Name: VSEdit, Probes: []*Probe{w10, w90},
		Change: func(i int) Change {
			if i%2 == 0 {
				return flip
			}
			return back
		},
		Restore: func(n int) Change {
			if n%2 == 1 {
				return back
			}
			return Change{}
		},
	}
}

// serviceAdd adds a new service with endpoints (in ns-0) each time; it has arrived once a sidecar has
// its endpoints and a route to it.
func serviceAdd(spec modeltest.MeshSpec) Scenario {
	return Scenario{
		Name: ServiceAdd, MaxChanges: modeltest.MaxAdded,
		Change: func(k int) Change {
			host := spec.AddedHost(k)
			return Change{What: "add " + spec.AddedName(k), Apply: spec.AddedService(k), Expect: []Expect{
				{Probe: &Probe{TypeURL: resourcev3.EndpointType, Name: []byte("|" + host), Marker: addressMarker(spec.AddedIP(k, 0))}, Present: true},
				{Probe: &Probe{TypeURL: resourcev3.RouteType, Marker: []byte(host)}, Present: true},
			}}
		},
		Restore: func(n int) Change {
			var remove []modeltest.Object
			for k := range n {
				remove = append(remove, spec.AddedService(k)...)
			}
			return Change{What: "remove the added services", Remove: remove}
		},
	}
}

// only picks the object of a kind and name.
func only(objs []modeltest.Object, kind, name string) modeltest.Object {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	panic(fmt.Sprintf("load: no %s %s in the generated objects", kind, name))
}
