package kube

import (
	"os"

	clientfeatures "k8s.io/client-go/features"
)

// watchListEnv is client-go's own switch for streamed initial lists; when an operator sets it,
// it decides.
const watchListEnv = "KUBE_FEATURE_WatchListClient"

// StreamInitialLists has the informers take their first state as a watch stream (WatchList: served
// by default since Kubernetes 1.34; an older server refuses it and the informer lists instead) rather
// than as one list. A stream's objects are slimmed as they arrive; a list of 10,000 Pods was one
// body of tens of MB, decoded whole before any of it was slimmed, which set pilot's memory
// high-water mark. client-go's feature gates are process-wide, so this is too: call it before any
// informer starts. KUBE_FEATURE_WatchListClient, when set, decides instead.
func StreamInitialLists() {
	if _, set := os.LookupEnv(watchListEnv); set {
		return
	}
	clientfeatures.ReplaceFeatureGates(watchListOn{clientfeatures.FeatureGates()})
}

type watchListOn struct{ clientfeatures.Gates }

func (g watchListOn) Enabled(key clientfeatures.Feature) bool {
	return key == clientfeatures.WatchListClient || g.Gates.Enabled(key)
}
