package kube

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/events"

	"github.com/minipilot/minipilot/model"
)

// A translation warning becomes a Warning Event on the rule, from the leader only, and only for
// objects that live in the cluster.
func TestTranslationWarningEvents(t *testing.T) {
	recorder := events.NewFakeRecorder(10)
	s := NewStatusWriter(nil, recorder, nil, testLog(t))
	rule := model.Meta{Kind: model.KindVirtualService, Namespace: "default", Name: "reviews", Source: "kube/east"}

	s.TranslationWarning(rule, "destination nowhere is not a known service")
	s.SetLeading(true)
	s.TranslationWarning(model.Meta{Kind: model.KindVirtualService, Namespace: "default", Name: "file", Source: "vs.yaml#1"}, "from a file")
	s.TranslationWarning(rule, "destination nowhere is not a known service")
	close(recorder.Events)
	var got []string
	for e := range recorder.Events {
		got = append(got, e)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "Warning "+ReasonTranslationWarning) || !strings.Contains(got[0], "nowhere") {
		t.Fatalf("events %q, want one Warning %s about the rule", got, ReasonTranslationWarning)
	}
}
