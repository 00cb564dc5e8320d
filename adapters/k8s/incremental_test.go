//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

package k8s

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipilot/minipilot/model"
)

// TestIncrementalEqualsFullConversion: after every change of random sequences (Pods relabelled or
// refused, Nodes moving zone, slices referring to Pods that come and go, selector-less Services'
// Endpoints shadowed by slices appearing), the incremental part is the full conversion of the same
// objects. A dependency Incremental missed shows here as a stale endpoint.
func TestIncrementalEqualsFullConversion(t *testing.T) {
	opts := Options{DomainSuffix: "cluster.local", Cluster: "c1"}
	for seed := range uint64(25) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := &meshGen{r: rand.New(rand.NewPCG(seed, 7))}
			x := NewIncremental(opts)
			state := map[string]metav1.Object{} // "Kind/key" → object
			for step := range 100 {
				kind, key, obj := g.change()
				if obj == nil {
					delete(state, kind+"/"+key)
				} else {
					state[kind+"/"+key] = obj
				}
				apply(x, kind, key, obj)
				want := objectsOf(state).Part(opts)
				if got := x.Part(); !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d (%s %s, deleted %v): incremental part differs from the full conversion\n got: %s\nwant: %s",
						step, kind, key, obj == nil, describe(got), describe(want))
				}
			}
		})
	}
}

// TestIncrementalConvertsOnlyWhatAChangeReaches: a Pod change converts again the slices that refer
// to it, and no other.
func TestIncrementalConvertsOnlyWhatAChangeReaches(t *testing.T) {
	x := NewIncremental(Options{DomainSuffix: "cluster.local"})
	g := &meshGen{r: rand.New(rand.NewPCG(1, 1))}
	for i := range 3 {
		x.SetService(fmt.Sprintf("a/svc%d", i), g.service("a", fmt.Sprintf("svc%d", i), true))
		x.SetPod(fmt.Sprintf("a/p%d", i), PodInfoOf(g.pod("a", fmt.Sprintf("p%d", i), map[string]string{"version": "v1"})))
		x.SetEndpointSlice(fmt.Sprintf("a/svc%d-x", i), slice("a", fmt.Sprintf("svc%d-x", i), fmt.Sprintf("svc%d", i), fmt.Sprintf("p%d", i), ""))
	}
	before := x.Part()
	kept := map[string]*model.Endpoint{}
	for _, ep := range before.Endpoints {
		kept[ep.Service] = ep
	}
	x.SetPod("a/p1", PodInfoOf(g.pod("a", "p1", map[string]string{"version": "v2"})))
	after := x.Part()
	for _, ep := range after.Endpoints {
		switch {
		case ep.Service == "svc1.a.svc.cluster.local" && ep == kept[ep.Service]:
			t.Errorf("svc1's endpoint reads the changed Pod p1 but was not converted again")
		case ep.Service != "svc1.a.svc.cluster.local" && ep != kept[ep.Service]:
			t.Errorf("%s's endpoint does not read Pod p1 but was converted again", ep.Service)
		case ep.Service == "svc1.a.svc.cluster.local" && ep.Labels["version"] != "v2":
			t.Errorf("svc1's endpoint has labels %v, want the Pod's new version v2", ep.Labels)
		}
	}
}

func apply(x *Incremental, kind, key string, obj metav1.Object) {
	switch kind {
	case "Service":
		o, _ := obj.(*corev1.Service)
		x.SetService(key, o)
	case "EndpointSlice":
		o, _ := obj.(*discoveryv1.EndpointSlice)
		x.SetEndpointSlice(key, o)
	case "Endpoints":
		o, _ := obj.(*corev1.Endpoints)
		x.SetEndpoints(key, o)
	case "Pod":
		o, _ := obj.(*corev1.Pod)
		x.SetPod(key, PodInfoOf(o))
	case "Node":
		o, _ := obj.(*corev1.Node)
		x.SetNode(key, o)
	}
}

// objectsOf lists the state's objects by kind, in key order, as the Kubernetes adapter's index does.
func objectsOf(state map[string]metav1.Object) Objects {
	var o Objects
	for _, k := range slices.Sorted(maps.Keys(state)) {
		switch v := state[k].(type) {
		case *corev1.Service:
			o.Services = append(o.Services, v)
		case *discoveryv1.EndpointSlice:
			o.EndpointSlices = append(o.EndpointSlices, v)
		case *corev1.Endpoints:
			o.Endpoints = append(o.Endpoints, v)
		case *corev1.Pod:
			o.Pods = append(o.Pods, v)
		case *corev1.Node:
			o.Nodes = append(o.Nodes, v)
		}
	}
	return o
}

func describe(p model.Part) string {
	s := fmt.Sprintf("%d services, rejections %v; endpoints:", len(p.Services), p.Rejections)
	for _, ep := range p.Endpoints {
		s += fmt.Sprintf(" %s@%s:%d%v%v", ep.Service, ep.Address, ep.Port, ep.Labels, ep.Locality)
	}
	return s
}

// meshGen makes random changes to a small mesh: two namespaces, a few Services (some without a
// selector), Pods, Nodes, slices and Endpoints that refer to them, sometimes with a value the API
// server would refuse.
type meshGen struct{ r *rand.Rand }

func (g *meshGen) pick(n int) int { return g.r.IntN(n) }

func (g *meshGen) change() (kind, key string, obj metav1.Object) {
	ns := []string{"a", "b"}[g.pick(2)]
	remove := g.pick(5) == 0
	switch g.pick(5) {
	case 0:
		name := fmt.Sprintf("svc%d", g.pick(4))
		return "Service", ns + "/" + name, orNil(remove, g.service(ns, name, g.pick(3) > 0))
	case 1:
		svc := fmt.Sprintf("svc%d", g.pick(4))
		name := fmt.Sprintf("%s-%d", svc, g.pick(2))
		return "EndpointSlice", ns + "/" + name, orNil(remove, slice(ns, name, svc, fmt.Sprintf("p%d", g.pick(6)), fmt.Sprintf("n%d", g.pick(3))))
	case 2:
		name := fmt.Sprintf("svc%d", g.pick(4))
		return "Endpoints", ns + "/" + name, orNil(remove, v1Endpoints(ns, name, fmt.Sprintf("p%d", g.pick(6)), fmt.Sprintf("n%d", g.pick(3))))
	case 3:
		name := fmt.Sprintf("p%d", g.pick(6))
		labels := map[string]string{"version": fmt.Sprintf("v%d", g.pick(3))}
		if g.pick(6) == 0 {
			labels["not a label"] = "x" // refused: the endpoints get no labels
		}
		return "Pod", ns + "/" + name, orNil(remove, g.pod(ns, name, labels))
	default:
		name := fmt.Sprintf("n%d", g.pick(3))
		zone := fmt.Sprintf("zone-%d", g.pick(3))
		if g.pick(8) == 0 {
			zone = "-bad-" // refused: the endpoints on it get no locality from it
		}
		return "Node", name, orNil(remove, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{corev1.LabelTopologyRegion: "r1", corev1.LabelTopologyZone: zone}}})
	}
}

// orNil returns nil for a removal: a typed nil would be an object.
func orNil[T metav1.Object](remove bool, obj T) metav1.Object {
	if remove {
		return nil
	}
	return obj
}

func (g *meshGen) service(ns, name string, selector bool) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080, TargetPort: intstr.FromInt32(9080)}}}}
	if selector {
		svc.Spec.Selector = map[string]string{"app": name}
	}
	if g.pick(10) == 0 {
		svc.Spec.Ports[0].Port = 70000 // refused
	}
	return svc
}

func (g *meshGen) pod(ns, name string, labels map[string]string) *corev1.Pod {
	ip := fmt.Sprintf("10.0.0.%d", g.pick(200)+1)
	if g.pick(10) == 0 {
		ip = "not-an-ip"
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Status: corev1.PodStatus{PodIP: ip}}
}

func slice(ns, name, svc, pod, node string) *discoveryv1.EndpointSlice {
	port, proto, portName := int32(9080), corev1.ProtocolTCP, "http"
	var nodeName *string
	if node != "" {
		nodeName = &node
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}, NodeName: nodeName,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod}}},
	}
}

func v1Endpoints(ns, name, pod, node string) *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.2.0.1", NodeName: &node,
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod}}},
			Ports: []corev1.EndpointPort{{Name: "http", Port: 9080, Protocol: corev1.ProtocolTCP}},
		}},
	}
}
