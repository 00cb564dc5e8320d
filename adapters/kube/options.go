package kube

import (
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// Options configure the platform adapter and the config controller of one cluster.
type Options struct {
	// Cluster names the cluster; it is recorded on every service and endpoint it contributes and in
	// the source of its routing rules ("kube/<cluster>").
	Cluster      string
	DomainSuffix string
	// Namespaces narrows what is watched; empty watches every namespace. Nodes are cluster-scoped
	// and always watched.
	Namespaces []string
	Log        *zap.Logger
	// Clock drives the work queue's backoff; tests may pass a fake one.
	Clock clock.WithTicker
}

func (o Options) withDefaults(component string) Options {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.DomainSuffix == "" {
		o.DomainSuffix = "cluster.local"
	}
	o.Log = o.Log.With(zap.String("adapter", component), zap.String("cluster", o.Cluster))
	return o
}
