package server

import (
	"cmp"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/xds/translate"
)

// warningLog collects what translations of the current snapshot warn about, across every kind of
// proxy, so that one mistake in a rule is reported once (a log line naming the rule, the Report
// hook) rather than once per proxy and push, and so that the operator can list them.
type warningLog struct {
	log    *zap.Logger
	report func(translate.Warning) // nil: only logged

	mu         sync.Mutex
	generation uint64
	current    map[translate.Warning]bool // seen in translations of this generation
	previous   map[translate.Warning]bool // of the generation before: already reported
}

func newWarningLog(log *zap.Logger, report func(translate.Warning)) *warningLog {
	return &warningLog{log: log, report: report, current: map[translate.Warning]bool{}}
}

// note takes the warnings of one translation of a snapshot. A warning is reported when it was not
// there in the snapshot before; one that goes away is dropped a snapshot later.
func (w *warningLog) note(generation uint64, warnings []translate.Warning) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if generation > w.generation {
		w.generation, w.previous, w.current = generation, w.current, map[translate.Warning]bool{}
	}
	if generation < w.generation {
		return // a late translation of an older snapshot
	}
	for _, warning := range warnings {
		if w.current[warning] {
			continue
		}
		w.current[warning] = true
		if w.previous[warning] {
			continue
		}
		w.log.Warn("config left out or suspect", zap.String("kind", string(warning.Object.Kind)),
			zap.String("namespace", warning.Object.Namespace), zap.String("name", warning.Object.Name),
			zap.String("resource", string(warning.Resource.Type)+" "+warning.Resource.Name), zap.String("warning", warning.Message))
		if w.report != nil {
			w.report(warning)
		}
	}
}

// panicked reports a translator panic: the proxy keeps its last config, and the operator gets the
// stack to file a bug with.
func (w *warningLog) panicked(generation uint64, node string, err error) {
	w.log.Error("translation failed; the proxy keeps its last config", zap.Uint64("generation", generation),
		zap.String("node", node), zap.Error(err))
}

// list returns the current snapshot's warnings, sorted.
func (w *warningLog) list() []translate.Warning {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]translate.Warning, 0, len(w.current))
	for warning := range w.current {
		out = append(out, warning)
	}
	slices.SortFunc(out, func(a, b translate.Warning) int {
		return cmp.Or(cmp.Compare(a.Object.Key(), b.Object.Key()), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// TranslationWarnings lists what the translations of the current model snapshot left out or
// suspect, with the object responsible, for /debug/configz.
func (s *Server) TranslationWarnings() []translate.Warning { return s.warnings.list() }
