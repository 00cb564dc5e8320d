// Package kubetest runs a real etcd and kube-apiserver for integration tests.
//
// The binaries are built by `make kube-bins` (see Makefile.kube) into
// <repo>/bin, or taken from $MINIPILOT_BIN_DIR. There is no controller-manager,
// scheduler or kubelet: objects are stored and served exactly as in a real
// cluster, but nothing reconciles them (no pods run, no ServiceAccounts or
// EndpointSlices are created for you).
//
// Missing binaries fail the test unless MINIPILOT_ALLOW_SKIP_KUBE=1, so CI can
// never silently skip the integration suite.
//
// The package is for tests only and needs Linux or another Unix (process
// groups).
package kubetest
