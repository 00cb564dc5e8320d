// Package kube is minipilot's Kubernetes platform: a model source per cluster for Services and their
// endpoints (Platform), a model source for the networking.istio.io routing rules (ConfigController)
// that reports each rule's fate in its status and in Events, and the leader election that decides
// which replica writes those statuses.
//
// Informer events become keys on a rate-limited work queue; one worker runs each key through a chain
// of handlers that bring the adapter's view up to date from the informer cache and then tell the
// model store. Conversion to the model is adapters/k8s's, shared with the file adapter. A source
// reports itself synced only once its informer caches have synced and the queue has handled the
// whole initial list, so nothing partial is ever pushed.
package kube
