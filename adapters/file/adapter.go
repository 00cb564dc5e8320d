// Package file is the embedded platform adapter: it reads a directory of Kubernetes-style manifests
// (Services, EndpointSlices, Endpoints, Pods, Nodes and the networking.istio.io kinds) and watches it,
// so that an edit reaches connected proxies without a restart.
package file

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// Adapter serves the manifests of one directory (and its subdirectories) as a model source.
type Adapter struct {
	dir    string
	opts   k8s.Options
	log    *zap.Logger
	limits limits
	timing timing

	// decodeConfig decodes and validates a networking.istio.io spec (k8s.DecodeConfig when nil);
	// tests make it panic, to show that a panic costs only its document.
	decodeConfig func(model.Meta, json.RawMessage) (model.Config, []validation.Problem, error)
	// onStep, when set, is told what the watch loop did, so tests can wait for it.
	onStep func(step)

	mu         sync.Mutex
	kube       kubeObjects        // the core objects in force, converted
	accepted   dirState           // the files whose content is in force
	lastGood   map[string]*object // by key: what is in force, kept through later bad edits
	rejections []model.Rejection  // of the accepted content, as in part
	part       model.Part         // built from lastGood; its rejections are these plus notes
	notes      []model.Rejection  // why newer content is not in force yet (held, directory missing)
}

// New returns an adapter for dir. Nothing is read until Load.
func New(dir string, opts k8s.Options, log *zap.Logger) *Adapter {
	return &Adapter{dir: dir, opts: opts, log: log.With(zap.String("adapter", "file"), zap.String("dir", dir)),
		limits: defaultLimits(), timing: defaultTiming(), lastGood: map[string]*object{}}
}

// Part returns what is in force: the directory as it was last accepted.
func (a *Adapter) Part() model.Part {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.part
}

// Load reads the whole directory again and puts it in force at once. A document that cannot be used
// is reported (file, document index, object, reason) and skipped; if it names an object that was
// good before, that last good version stays in force. Only an unreadable directory is an error.
func (a *Adapter) Load() error {
	a.mu.Lock()
	prev := a.accepted
	a.mu.Unlock()
	state, _, err := a.read(nil, prev)
	if err != nil {
		return err
	}
	a.accept(state)
	return nil
}

// accept puts a read of the directory in force.
func (a *Adapter) accept(state dirState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	inForce := map[string]*object{}
	var rejections []model.Rejection
	damaged := map[string]bool{} // files with a document that could not even be identified
	for _, name := range slices.Sorted(maps.Keys(state)) {
		v := state[name]
		if v.readErr != "" {
			rejections = append(rejections, model.Rejection{Meta: model.Meta{Source: name}, Reason: v.readErr})
			damaged[name] = true
			continue
		}
		for _, o := range v.objs {
			if prev, dup := inForce[o.key]; dup {
				rejections = append(rejections, model.Rejection{Meta: metaOf(o), Reason: fmt.Sprintf("%s is defined twice; the definition in %s is used", o.key, prev.source)})
				continue
			}
			inForce[o.key] = o
		}
		for _, e := range v.errs {
			rejections = append(rejections, model.Rejection{Meta: e.meta, Reason: e.reason})
			if e.key == "" {
				damaged[name] = true
				continue
			}
			if prev, ok := a.lastGood[e.key]; ok && inForce[e.key] == nil {
				inForce[e.key] = prev
			}
		}
	}
	// Objects of a file that could not be read in full stay as they were, rather than vanish.
	for key, prev := range a.lastGood {
		if damaged[prev.file] && inForce[key] == nil {
			inForce[key] = prev
		}
	}
	for _, r := range rejections {
		a.log.Warn("manifest rejected", zap.String("source", r.Source), zap.String("object", objectName(r.Meta)), zap.String("reason", r.Reason))
	}
	a.accepted = state
	a.lastGood = inForce
	a.part = a.build(inForce, rejections)
	a.rejections = a.part.Rejections
	a.notes = nil
}

func (a *Adapter) acceptedState() dirState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.accepted
}

// note replaces the notes on what is not in force yet; it says whether they changed.
func (a *Adapter) note(notes []model.Rejection) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.Equal(notes, a.notes) {
		return false
	}
	a.notes = notes
	a.part.Rejections = slices.Concat(a.rejections, notes)
	return true
}

func (a *Adapter) build(objs map[string]*object, rejections []model.Rejection) model.Part {
	part, err := a.kube.update(objs, a.opts)
	if err != nil {
		// Conversion guards each object; this is for a bug outside those guards.
		a.log.Error("converting the directory failed; keeping the previous config", zap.Error(err))
		part = a.part
		part.Rejections = nil
		rejections = append(rejections, model.Rejection{Meta: model.Meta{Source: a.dir},
			Reason: fmt.Sprintf("%v; the previous config stays in force", err)})
	} else {
		for _, k := range slices.Sorted(maps.Keys(objs)) {
			if c := objs[k].config; c != nil {
				part.Add(c)
			}
		}
	}
	part.Rejections = slices.Concat(part.Rejections, rejections)
	return part
}

func metaOf(o *object) model.Meta {
	kind, rest, _ := strings.Cut(o.key, "/")
	ns, name, _ := strings.Cut(rest, "/")
	return model.Meta{Kind: model.Kind(kind), Namespace: ns, Name: name, Source: o.source}
}

func objectName(m model.Meta) string {
	if m.Name == "" {
		return ""
	}
	return fmt.Sprintf("%s %s/%s", m.Kind, m.Namespace, m.Name)
}
