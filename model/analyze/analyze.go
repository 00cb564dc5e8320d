// Package analyze checks a mesh for mistakes that no single object shows: a route to a host or a
// subset that does not exist, two VirtualServices for one host, a DestinationRule for nothing, a
// Sidecar that hides a host its workloads route to. It reads the model (what pilot would serve), so
// pilotctl analyze reports on exactly what minipilot would do; objects the validator refuses are
// reported by the caller. Messages carry Istio's codes (istio.io/istio
// pkg/config/analysis/msg/messages.yaml) where Istio has one, and MP codes where it has none.
package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
)

// Level is how bad a message is: an Error is exit status material.
type Level string

// The levels, as istioctl names them.
const (
	Error   Level = "Error"
	Warning Level = "Warning"
	Info    Level = "Info"
)

// Message is one finding about one object.
type Message struct {
	Code   string `json:"code"`
	Level  Level  `json:"level"`
	Object string `json:"object"`           // "VirtualService default/reviews"
	Source string `json:"source,omitempty"` // where it was read: file#document, or kube/<cluster>
	Field  string `json:"field,omitempty"`  // the path of the field at fault
	Text   string `json:"message"`
}

// String is istioctl's format: "Error [IST0101] (VirtualService default/reviews) Referenced ...".
func (m Message) String() string {
	s := fmt.Sprintf("%s [%s] (%s", m.Level, m.Code, m.Object)
	if m.Source != "" {
		s += " " + m.Source
	}
	s += ") "
	if m.Field != "" {
		s += m.Field + ": "
	}
	return s + m.Text
}

// Sidecar is the part of a networking.istio.io Sidecar the analysis reads: which hosts its workloads
// may reach ("namespace/dnsName", as Istio writes egress hosts). minipilot does not apply Sidecars;
// istiod does, so a mesh that runs on both is checked for them.
type Sidecar struct {
	model.Meta
	// Selects is false for a namespace-wide Sidecar (no workloadSelector): only those are checked.
	Selects bool
	Egress  []string
}

// Run analyzes a snapshot (and the mesh's Sidecars) and returns its messages, sorted.
func Run(snap *model.Snapshot, sidecars []Sidecar) []Message {
	a := &analysis{snap: snap, gateways: map[string]bool{}, hidden: map[string]bool{}}
	for _, gw := range snap.Gateways {
		a.gateways[gw.Namespace+"/"+gw.Name] = true
	}
	for _, vs := range snap.VirtualServices {
		a.virtualService(vs, sidecars)
	}
	a.conflictingHosts()
	for _, dr := range snap.DestinationRules {
		a.destinationRule(dr)
	}
	slices.SortStableFunc(a.out, func(x, y Message) int {
		return cmp.Or(cmp.Compare(x.Object, y.Object), cmp.Compare(x.Field, y.Field), cmp.Compare(x.Code, y.Code))
	})
	return a.out
}

// Errors counts the messages of level Error.
func Errors(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if m.Level == Error {
			n++
		}
	}
	return n
}

type analysis struct {
	snap     *model.Snapshot
	gateways map[string]bool // namespace/name
	hidden   map[string]bool // VirtualService, host and Sidecar already reported
	out      []Message
}

func (a *analysis) add(meta model.Meta, code string, level Level, field, format string, args ...any) {
	a.out = append(a.out, Message{Code: code, Level: level, Object: fmt.Sprintf("%s %s/%s", meta.Kind, meta.Namespace, meta.Name),
		Source: meta.Source, Field: field, Text: fmt.Sprintf(format, args...)})
}

func (a *analysis) resolve(host, namespace string) string {
	return model.ResolveShortName(host, namespace, a.snap.DomainSuffix)
}

// destination is one place a VirtualService sends traffic, with the path of its field.
type destination struct {
	field string
	dest  *networking.Destination
	// weight and alone: the destination's weight, and whether it is its route's only one.
	weight int32
	alone  bool
}

func destinations(spec *networking.VirtualService) []destination {
	var out []destination
	for i, r := range spec.HTTP {
		for j, d := range r.Route {
			out = append(out, destination{fmt.Sprintf("spec.http[%d].route[%d].destination", i, j), d.Destination, d.Weight, len(r.Route) == 1})
		}
		if r.Mirror != nil {
			out = append(out, destination{field: fmt.Sprintf("spec.http[%d].mirror", i), dest: r.Mirror})
		}
		for j, m := range r.Mirrors {
			out = append(out, destination{field: fmt.Sprintf("spec.http[%d].mirrors[%d].destination", i, j), dest: m.Destination})
		}
	}
	for i, r := range spec.TLS {
		for j, d := range r.Route {
			out = append(out, destination{fmt.Sprintf("spec.tls[%d].route[%d].destination", i, j), d.Destination, d.Weight, len(r.Route) == 1})
		}
	}
	for i, r := range spec.TCP {
		for j, d := range r.Route {
			out = append(out, destination{fmt.Sprintf("spec.tcp[%d].route[%d].destination", i, j), d.Destination, d.Weight, len(r.Route) == 1})
		}
	}
	return out
}

func (a *analysis) virtualService(vs *model.VirtualService, sidecars []Sidecar) {
	for _, d := range destinations(vs.Spec) {
		if d.dest == nil {
			continue
		}
		if d.alone && d.weight != 0 && d.weight != 100 {
			a.add(vs.Meta, "MP0001", Warning, d.field, "weight %d on the route's only destination has no effect: it gets all the traffic", d.weight)
		}
		host := a.resolve(d.dest.Host, vs.Namespace)
		if strings.HasPrefix(host, "*") {
			continue
		}
		svc := a.snap.Service(host)
		if svc == nil {
			a.add(vs.Meta, "IST0101", Error, d.field+".host", "Referenced host not found: %q", d.dest.Host)
			continue
		}
		if d.dest.Subset != "" {
			a.subset(vs, d, svc)
		}
		if d.dest.Port == nil && len(svc.Ports) > 1 {
			var ports []string
			for _, p := range svc.Ports {
				ports = append(ports, fmt.Sprint(p.Port))
			}
			a.add(vs.Meta, "IST0112", Error, d.field+".port", "This VirtualService routes to a service %q that exposes multiple ports [%s]. Specifying a port in the destination is required to disambiguate.",
				d.dest.Host, strings.Join(ports, " "))
		}
		if meshBound(vs.Spec) {
			a.sidecarsHide(vs, d, svc, sidecars)
		}
	}
	for i, r := range vs.Spec.HTTP {
		if r.Delegate != nil && a.snap.VirtualService(cmp.Or(r.Delegate.Namespace, vs.Namespace), r.Delegate.Name) == nil {
			a.add(vs.Meta, "IST0101", Error, fmt.Sprintf("spec.http[%d].delegate", i), "Referenced delegate VirtualService not found: %q",
				cmp.Or(r.Delegate.Namespace, vs.Namespace)+"/"+r.Delegate.Name)
		}
	}
	for i, gw := range vs.Spec.Gateways {
		if gw == "mesh" {
			continue
		}
		key := gw
		if !strings.Contains(gw, "/") {
			key = vs.Namespace + "/" + gw
		}
		if !a.gateways[key] {
			a.add(vs.Meta, "IST0101", Error, fmt.Sprintf("spec.gateways[%d]", i), "Referenced gateway not found: %q", gw)
		}
	}
}

// subset checks that a destination's subset is defined by the DestinationRule that applies, and
// that it selects some endpoint.
func (a *analysis) subset(vs *model.VirtualService, d destination, svc *model.Service) {
	dr := a.snap.DestinationRuleFor(vs.Namespace, svc)
	var subset *networking.Subset
	if dr != nil {
		for _, s := range dr.Spec.Subsets {
			if s.Name == d.dest.Subset {
				subset = s
			}
		}
	}
	if subset == nil {
		a.add(vs.Meta, "IST0101", Error, d.field+".subset", "Referenced host+subset in destinationrule not found: %q", d.dest.Host+"+"+d.dest.Subset)
		return
	}
	for _, p := range svc.Ports {
		for _, ep := range a.snap.Endpoints(svc.Hostname, p) {
			if model.LabelsMatch(subset.Labels, ep.Labels) {
				return
			}
		}
	}
	a.add(vs.Meta, "IST0173", Error, d.field+".subset", "The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).", d.dest.Subset)
}

// meshBound says whether a VirtualService applies to sidecars (no gateways, or "mesh" among them).
func meshBound(spec *networking.VirtualService) bool {
	return len(spec.Gateways) == 0 || slices.Contains(spec.Gateways, "mesh")
}

// conflictingHosts is Istio's IST0109: sidecars apply one VirtualService per host, so several that
// name the same host for the mesh leave all but one without effect.
func (a *analysis) conflictingHosts() {
	byHost := map[string][]*model.VirtualService{}
	var hosts []string
	for _, vs := range a.snap.VirtualServices {
		if !meshBound(vs.Spec) {
			continue
		}
		for _, h := range vs.Spec.Hosts {
			host := a.resolve(h, vs.Namespace)
			if byHost[host] == nil {
				hosts = append(hosts, host)
			}
			byHost[host] = append(byHost[host], vs)
		}
	}
	for _, host := range hosts {
		rules := byHost[host]
		if len(rules) < 2 {
			continue
		}
		names := make([]string, len(rules))
		for i, vs := range rules {
			names[i] = vs.Namespace + "/" + vs.Name
		}
		for _, vs := range rules {
			a.add(vs.Meta, "IST0109", Error, "spec.hosts", "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
				strings.Join(names, ","), host)
		}
	}
}

// destinationRule is Istio's IST0174: a rule for a host no service has does nothing.
func (a *analysis) destinationRule(dr *model.DestinationRule) {
	host := a.resolve(dr.Spec.Host, dr.Namespace)
	if strings.HasPrefix(host, "*") || a.snap.Service(host) != nil {
		return
	}
	a.add(dr.Meta, "IST0174", Warning, "spec.host", "The host %s defined in the DestinationRule does not match any services in the mesh.", dr.Spec.Host)
}

// sidecarsHide reports a namespace-wide Sidecar of the VirtualService's namespace whose egress hosts
// do not include a host the VirtualService routes to: pilot (as istiod) does not give the namespace's
// workloads that host's clusters, and the route would fail.
func (a *analysis) sidecarsHide(vs *model.VirtualService, d destination, svc *model.Service, sidecars []Sidecar) {
	for _, sc := range sidecars {
		if sc.Namespace != vs.Namespace || sc.Selects || len(sc.Egress) == 0 {
			continue
		}
		key := vs.Key() + "|" + svc.Hostname + "|" + sc.Name
		if !egressCovers(sc, svc) && !a.hidden[key] {
			a.hidden[key] = true
			a.add(vs.Meta, "MP0002", Warning, d.field+".host", "Sidecar %s/%s hides %s from the namespace's workloads (its egress hosts %v do not include it): the namespace's workloads get no cluster for it, and this route fails",
				sc.Namespace, sc.Name, svc.Hostname, sc.Egress)
		}
	}
}

func egressCovers(sc Sidecar, svc *model.Service) bool {
	for _, h := range sc.Egress {
		ns, name, ok := strings.Cut(h, "/")
		if !ok {
			ns, name = "*", h
		}
		if ns == "." || ns == "~" {
			ns = sc.Namespace
		}
		if ns != "*" && ns != svc.Namespace {
			continue
		}
		if model.HostMatches(name, svc.Hostname) {
			return true
		}
	}
	return false
}
