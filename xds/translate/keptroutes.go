package translate

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/model"
)

// KeptRoutes is a sidecar view's virtual hosts as its route configs were last encoded: each one's
// bytes, with the VirtualServices its translation read. After a change to VirtualServices alone
// (model.Change.RoutingOnly: services, DestinationRules, Gateways and the mesh as they were, no
// Sidecar), a virtual host whose reads give the same VirtualServices is what it was, so it is not
// translated again: a VirtualService edit costs the virtual hosts of its hosts, not every service's.
// It holds for one view (translate.ViewKey) and is never written to once made.
type KeptRoutes struct {
	hosts map[hostKey]*keptHost
	// Kept and Translated count the virtual hosts of the translation that made this: taken as they
	// were, and translated.
	Kept, Translated int
}

type hostKey struct{ route, host string }

// keptHost is one virtual host as it was encoded in its route config.
type keptHost struct {
	reads    vsReads
	encoded  []byte   // the VirtualHost message, final (deduplicated and validated)
	domains  []string // its final domains: later virtual hosts are deduplicated against them
	clusters []string // the clusters its routes send traffic to
	warnings []attempt
}

// vsReads is what a virtual host's translation read of the VirtualServices: the list for each
// hostname and the delegates looked up by name (nil where there was none).
type vsReads struct {
	byHost []hostRead
	byName []nameRead
}

type hostRead struct {
	host string
	vss  []*model.VirtualService
}

type nameRead struct {
	namespace, name string
	vs              *model.VirtualService
}

// hold says whether the reads give the same VirtualServices in snap. Unchanged VirtualServices are
// the same objects from one snapshot to the next; one that is not (re-read, equal) only costs a
// translation.
func (r *vsReads) hold(snap *model.Snapshot) bool {
	for _, h := range r.byHost {
		if !slices.Equal(snap.VirtualServicesFor(h.host), h.vss) {
			return false
		}
	}
	for _, n := range r.byName {
		if snap.VirtualService(n.namespace, n.name) != n.vs {
			return false
		}
	}
	return true
}

// attempt is a warning a virtual host's translation recorded or tried to (warnOnce drops a repeat),
// so that a kept virtual host says again what it said, in the same order, as its translation would.
type attempt struct {
	w    Warning
	once bool
}

// hostRecord collects, while one virtual host is translated, what it read and warned.
type hostRecord struct {
	reads    vsReads
	warnings []attempt
}

// virtualServicesFor is snap.VirtualServicesFor, recorded for the virtual host being translated.
func (b *builder) virtualServicesFor(host string) []*model.VirtualService {
	vss := b.snap.VirtualServicesFor(host)
	if b.recording != nil {
		b.recording.reads.byHost = append(b.recording.reads.byHost, hostRead{host: host, vss: vss})
	}
	return vss
}

// virtualServiceNamed is snap.VirtualService, recorded for the virtual host being translated.
func (b *builder) virtualServiceNamed(namespace, name string) *model.VirtualService {
	vs := b.snap.VirtualService(namespace, name)
	if b.recording != nil {
		b.recording.reads.byName = append(b.recording.reads.byName, nameRead{namespace: namespace, name: name, vs: vs})
	}
	return vs
}

// serviceVirtualHost is virtualHost for a service's port of route config rcName, taken from the kept
// routes when its reads still hold: then a stand-in with its name and final domains takes its place
// until the route config is encoded (encodeRoutes), and its warnings are said again.
func (b *builder) serviceVirtualHost(rcName string, svc *model.Service, port model.Port) *routev3.VirtualHost {
	if b.translatedHosts == nil {
		return b.virtualHost(svc, port, nil) // not encoding: nothing to keep
	}
	var k *keptHost
	if b.kept != nil { // a first translation keeps, and has nothing to look up
		k = b.kept.hosts[hostKey{rcName, virtualHostName(svc, port.Port)}]
	}
	if k != nil && k.reads.hold(b.snap) {
		for _, a := range k.warnings {
			if a.once && slices.Contains(b.warnings, a.w) {
				continue
			}
			b.warnings = append(b.warnings, a.w)
		}
		stand := &routev3.VirtualHost{Name: virtualHostName(svc, port.Port), Domains: k.domains}
		b.standIns[stand] = k
		b.standInRoutes[rcName] = true
		return stand
	}
	rec := &hostRecord{}
	b.recording = rec
	vh := b.virtualHost(svc, port, nil)
	b.recording = nil
	b.translatedHosts[vh] = rec
	return vh
}

// EncodedRoute is a route config as bytes (the RouteConfiguration message), with the clusters its
// routes send traffic to.
type EncodedRoute struct {
	Name     string
	Value    []byte
	Clusters []string
}

// encodeRoutes encodes the finished route configs, splicing in the kept virtual hosts' bytes, and
// keeps, for the next translation, the virtual hosts of every route config that finishing left as
// built (nothing deduplicated, nothing cut by validation: that is, with no warning of its own).
// Deterministic marshalling writes fields in number order, so a route config is its name (field 1),
// its virtual hosts (field 2) one after the other, then its other fields: the splice is the bytes
// proto.Marshal gives.
func (b *builder) encodeRoutes(r *Resources, finishWarnings []Warning) *KeptRoutes {
	touched := map[string]bool{}
	for _, w := range finishWarnings {
		if w.Resource.Type == RouteResource {
			touched[w.Resource.Name] = true
		}
	}
	next := &KeptRoutes{hosts: map[hostKey]*keptHost{}}
	opts := proto.MarshalOptions{Deterministic: true}
	for _, rc := range r.Routes {
		name, hosts := rc.Name, rc.VirtualHosts
		rc.Name, rc.VirtualHosts = "", nil
		tail, err := opts.Marshal(rc) // the fields after the virtual hosts
		rc.Name, rc.VirtualHosts = name, hosts
		if err != nil {
			panic("translate: a route config does not marshal: " + err.Error())
		}
		enc := EncodedRoute{Name: rc.Name}
		keep := !touched[rc.Name] && !b.revalidated[rc.Name]
		pieces := make([][]byte, 0, len(rc.VirtualHosts))
		keeping := make([]*keptHost, 0, len(rc.VirtualHosts)) // pieces[i]'s, when kept; else nil
		for _, vh := range rc.VirtualHosts {
			k, kept := b.standIns[vh]
			if !kept {
				encoded, err := opts.Marshal(vh)
				if err != nil {
					panic("translate: a virtual host does not marshal: " + err.Error())
				}
				clusters := referencedClusters([]*routev3.RouteConfiguration{{VirtualHosts: []*routev3.VirtualHost{vh}}})
				rec := b.translatedHosts[vh]
				if rec == nil { // not a service's virtual host (the catch-all): translated every time
					pieces, enc.Clusters = append(pieces, encoded), append(enc.Clusters, clusters...)
					keeping = append(keeping, nil)
					continue
				}
				k = &keptHost{encoded: encoded, domains: vh.Domains, clusters: clusters, reads: rec.reads, warnings: rec.warnings}
				next.Translated++
			} else {
				next.Kept++
			}
			pieces, enc.Clusters = append(pieces, k.encoded), append(enc.Clusters, k.clusters...)
			if !keep {
				k = nil
			} else if kept {
				c := *k // the last translation's is not written to: this one's will point into the new bytes
				k = &c
			}
			keeping = append(keeping, k)
			if k != nil {
				next.hosts[hostKey{rc.Name, vh.Name}] = k
			}
		}
		size := len(tail)
		if rc.Name != "" {
			size += protowire.SizeTag(1) + protowire.SizeBytes(len(rc.Name))
		}
		for _, p := range pieces {
			size += protowire.SizeTag(2) + protowire.SizeBytes(len(p))
		}
		value := make([]byte, 0, size)
		if rc.Name != "" {
			value = protowire.AppendString(protowire.AppendTag(value, 1, protowire.BytesType), rc.Name)
		}
		for i, p := range pieces {
			value = protowire.AppendVarint(protowire.AppendTag(value, 2, protowire.BytesType), uint64(len(p)))
			start := len(value)
			value = append(value, p...)
			if k := keeping[i]; k != nil {
				// What is kept is the virtual host where it lies in the route config (which is never
				// reallocated: value is made to its size), not a second copy of every view's routes.
				k.encoded = value[start:len(value):len(value)]
			}
		}
		enc.Value = append(value, tail...)
		slices.Sort(enc.Clusters)
		enc.Clusters = slices.Compact(enc.Clusters)
		r.EncodedRoutes = append(r.EncodedRoutes, enc)
	}
	r.Routes = nil // they hold stand-ins: the encoded routes are the route configs
	return next
}

// SidecarListenersKeeping is SidecarListeners with its route configs encoded (Resources.EncodedRoutes
// instead of Routes), taking from kept (the view's last translation; nil: none) the virtual hosts a
// change to VirtualServices alone left as they were. kept must be of the same view, and snap differ
// from its snapshot in VirtualServices at most; it returns what to keep for the next.
func SidecarListenersKeeping(snap *model.Snapshot, proxy *model.Proxy, kept *KeptRoutes) (*Resources, *KeptRoutes) {
	b := newBuilder(snap, proxy, nil)
	b.kept = kept
	b.standIns, b.translatedHosts = map[*routev3.VirtualHost]*keptHost{}, map[*routev3.VirtualHost]*hostRecord{}
	b.standInRoutes, b.revalidated = map[string]bool{}, map[string]bool{}
	r := Resources{Listeners: b.listeners()}
	r.Routes = b.routeConfigs()
	built := len(b.warnings)
	b.finish(&r)
	next := b.encodeRoutes(&r, r.Details[built:])
	return &r, next
}
