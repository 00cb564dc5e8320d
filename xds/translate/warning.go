package translate

import (
	"fmt"
	"slices"

	"github.com/minipilot/minipilot/model"
)

// KindService is the Object kind of a warning about a service (model.Kind names only the routing
// rule kinds). For a ServiceEntry's host the Name is the host: the model keeps no link to the entry.
const KindService model.Kind = "Service"

// ResourceType names an xDS resource type in warnings, as the messages always have.
type ResourceType string

// The resource types a translation produces.
const (
	ClusterResource   ResourceType = "cluster"
	EndpointsResource ResourceType = "endpoints"
	ListenerResource  ResourceType = "listener"
	RouteResource     ResourceType = "route"
)

// ResourceRef names one xDS resource.
type ResourceRef struct {
	Type ResourceType `json:"type"`
	Name string       `json:"name"`
}

// Warning is one thing a translation left out or suspects is wrong: what it says, the config object
// responsible (so that it can be reported on that object: a log line naming it, a Kubernetes Event)
// and the xDS resource it concerns.
type Warning struct {
	// Object is the VirtualService, DestinationRule or Gateway responsible, with its Meta as the
	// snapshot has it, or a service (Kind KindService, its namespace and name). Kind is empty when no
	// object is known (a gRPC client asked for a listener no service has).
	Object model.Meta `json:"object,omitzero"`
	// Resource is the xDS resource the warning is about; zero when it is about none in particular.
	Resource ResourceRef `json:"resource,omitzero"`
	// Message is the warning as one line, naming the object and the resource itself.
	Message string `json:"message"`
}

// String is the message: the line translations have always reported.
func (w Warning) String() string { return w.Message }

// serviceObject is the Object of a warning about a service.
func serviceObject(svc *model.Service) model.Meta {
	if svc == nil {
		return model.Meta{}
	}
	return model.Meta{Kind: KindService, Namespace: svc.Namespace, Name: svc.Name}
}

func clusterRef(name string) ResourceRef   { return ResourceRef{Type: ClusterResource, Name: name} }
func listenerRef(name string) ResourceRef  { return ResourceRef{Type: ListenerResource, Name: name} }
func routeRef(name string) ResourceRef     { return ResourceRef{Type: RouteResource, Name: name} }
func endpointsRef(name string) ResourceRef { return ResourceRef{Type: EndpointsResource, Name: name} }

// warn records a warning about obj and res.
func (b *builder) warn(obj model.Meta, res ResourceRef, format string, args ...any) {
	w := Warning{Object: obj, Resource: res, Message: fmt.Sprintf(format, args...)}
	b.warnings = append(b.warnings, w)
	if b.recording != nil {
		b.recording.warnings = append(b.recording.warnings, attempt{w: w})
	}
}

// warnOnce records a warning unless the same one was recorded already: a rule is translated once
// per port and per listener, and one mistake deserves one line.
func (b *builder) warnOnce(obj model.Meta, res ResourceRef, format string, args ...any) {
	w := Warning{Object: obj, Resource: res, Message: fmt.Sprintf(format, args...)}
	if !slices.Contains(b.warnings, w) {
		b.warnings = append(b.warnings, w)
	}
	if b.recording != nil {
		b.recording.warnings = append(b.recording.warnings, attempt{w: w, once: true})
	}
}

// warnCluster records a warning about a cluster being built: it comes from the DestinationRule
// whose policy the cluster applies (every policy warning does), else from the service.
func (b *builder) warnCluster(name string, format string, args ...any) {
	b.warn(b.provenance.clusterObject(name), clusterRef(name), format, args...)
}

// messages are the warnings' lines, for Resources.Warnings.
func messages(ws []Warning) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Message
	}
	return out
}
