package server

import (
	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"go.uber.org/zap"

	"github.com/minipilot/minipilot/model"
)

// Preview returns what a connected proxy holds now and what it would be sent from another snapshot
// (the current one with changes that are not applied), both as Envoy config dumps. The proxy is
// translated as its stream is, with its own metadata and subscriptions, but from scratch and without
// make-before-break: the preview is where the proxy ends up once a push has settled. Nothing is
// sent, cached or reported.
func (s *Server) Preview(node string, snap *model.Snapshot) (current, preview *adminv3.ConfigDump, err error) {
	c, err := s.connOf(node)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	proxy, subs, holds := c.proxy, c.subs, c.holdsSet
	var listeners []string
	if proxy.Proxyless {
		listeners = c.listenerNames()
	}
	c.mu.Unlock()

	cache := newTranslationCache(snap, newWarningLog(zap.NewNop(), nil), NewMetrics(nil), nil, model.Change{})
	tr, _, err := cache.get(proxy, listeners, nil)
	if err != nil {
		return nil, nil, err
	}
	var sets [numTypes]typeSet
	for t := range numTypes {
		sets[t] = tr.sets[t].filter(subs[t])
	}
	if sub := subs[eds]; sub.requested && !sub.wildcard {
		// An Envoy asks for the endpoints of the clusters it gets: new clusters' too.
		want := subscription{requested: true, names: map[string]bool{}}
		for _, e := range sets[cds].entries {
			want.names[e.name] = true
		}
		sets[eds] = tr.sets[eds].filter(want)
	}
	return dumpOf(holds), dumpOf(sets), nil
}
