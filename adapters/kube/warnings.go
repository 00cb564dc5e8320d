package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// ReasonTranslationWarning is the Event reason of a rule that was accepted but that translation
// had to leave (part of) out, or suspects is wrong: a route to a host the mesh does not have, a
// cluster that fails Envoy's validation.
const ReasonTranslationWarning = "TranslationWarning"

// ReasonProxyRejected is the Event reason of a rule that a resource a proxy refused (NACKed) was
// built from: Envoy or a gRPC client could not use what the rule made.
const ReasonProxyRejected = "ProxyRejected"

// TranslationWarning records a Warning Event on the object a translation warning is about: a
// routing rule, or a Service (kind "Service"). Only the leader records, like statuses; objects of
// other sources (files) are not in the cluster and get none.
func (s *StatusWriter) TranslationWarning(obj model.Meta, message string) {
	s.warningEvent(obj, ReasonTranslationWarning, "Translate", message)
}

// ProxyRejected records a Warning Event on an object that a resource a proxy refused was built from.
func (s *StatusWriter) ProxyRejected(obj model.Meta, message string) {
	s.warningEvent(obj, ReasonProxyRejected, "Push", message)
}

func (s *StatusWriter) warningEvent(obj model.Meta, reason, action, message string) {
	if s.recorder == nil || !s.leading.Load() || !strings.HasPrefix(obj.Source, "kube/") {
		return
	}
	apiVersion := k8s.IstioGroup + "/" + ConfigVersion
	switch {
	case obj.Kind == "Service":
		apiVersion = "v1"
	case !k8s.IsIstioKind(string(obj.Kind)):
		return
	}
	regarding := &unstructured.Unstructured{}
	regarding.SetAPIVersion(apiVersion)
	regarding.SetKind(string(obj.Kind))
	regarding.SetNamespace(obj.Namespace)
	regarding.SetName(obj.Name)
	s.recorder.Eventf(regarding, nil, corev1.EventTypeWarning, reason, action, "%s", truncate(message, maxEventNote))
}
