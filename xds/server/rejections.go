package server

import (
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// rejectionReporter tells the config objects behind a resource a proxy refused (NACKed) about it:
// a Warning log naming proxy, type, resource, error and object, and the ReportRejection hook (a
// Kubernetes Event on the rule). Finding the objects costs a translation, so it runs on one
// goroutine of its own, each refusal once: a route config refused by 500 sidecars is one report.
type rejectionReporter struct {
	log    *zap.Logger
	report func(translate.Warning)
	work   chan rejection

	mu   sync.Mutex
	seen map[rejectionKey]bool
}

// rejection is one refusal of named resources, with what finding their origins needs.
type rejection struct {
	snap      *model.Snapshot
	proxy     *model.Proxy
	listeners []string
	t         int
	resources []string
	message   string
}

type rejectionKey struct {
	t                 int
	resource, message string
}

// maxRejectionsSeen bounds what the reporter remembers; past it, it forgets and may report again.
const maxRejectionsSeen = 10000

func newRejectionReporter(log *zap.Logger, report func(translate.Warning)) *rejectionReporter {
	return &rejectionReporter{log: log, report: report, work: make(chan rejection, 64), seen: map[rejectionKey]bool{}}
}

// refused queues a refusal unless each of its resources was reported with this message before.
// It never blocks: when the queue is full the refusal is only in the proxy's log line and syncz.
func (r *rejectionReporter) refused(rj rejection) {
	r.mu.Lock()
	var fresh []string
	for _, name := range rj.resources {
		k := rejectionKey{rj.t, name, rj.message}
		if !r.seen[k] {
			if len(r.seen) >= maxRejectionsSeen {
				clear(r.seen)
			}
			r.seen[k] = true
			fresh = append(fresh, name)
		}
	}
	r.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	rj.resources = fresh
	select {
	case r.work <- rj:
	default:
	}
}

// run reports queued refusals until stop closes.
func (r *rejectionReporter) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case rj := <-r.work:
			r.explain(rj)
		}
	}
}

func (r *rejectionReporter) explain(rj rejection) {
	var origins translate.Origins
	if err := recovered(func() { origins = translate.OriginsOf(rj.snap, rj.proxy, rj.listeners) }); err != nil {
		r.log.Error("finding the config behind a refused resource failed", zap.Error(err))
		return
	}
	for _, name := range rj.resources {
		ref := translate.ResourceRef{Type: resourceTypes[rj.t], Name: name}
		for _, obj := range origins[ref] {
			w := translate.Warning{Object: obj, Resource: ref, Message: fmt.Sprintf("proxy %s refused %s %s built from this %s: %s",
				rj.proxy.ID, ref.Type, name, obj.Kind, rj.message)}
			r.log.Warn("proxy refused config built from a rule", zap.String("node", rj.proxy.ID), zap.String("type", typeShort[rj.t]),
				zap.String("resource", name), zap.String("kind", string(obj.Kind)), zap.String("namespace", obj.Namespace),
				zap.String("name", obj.Name), zap.String("error", rj.message))
			if r.report != nil {
				r.report(w)
			}
		}
	}
}

// resourceTypes are the translator's names of the xDS types, by type index.
var resourceTypes = [numTypes]translate.ResourceType{
	cds: translate.ClusterResource, eds: translate.EndpointsResource, lds: translate.ListenerResource, rds: translate.RouteResource,
}
