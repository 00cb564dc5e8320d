// Package file is the embedded platform adapter: it reads a directory of Kubernetes-style manifests
// (Services, EndpointSlices, Endpoints, Pods, Nodes and the networking.istio.io kinds) and watches it,
// so that an edit reaches connected proxies without a restart.
package file

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// Adapter serves the manifests of one directory (and its subdirectories) as a model source.
type Adapter struct {
	dir  string
	opts k8s.Options
	log  *zap.Logger

	mu       sync.Mutex
	lastGood map[string]*object // by key: what is in force, kept through later bad edits
	part     model.Part
}

// New returns an adapter for dir. Nothing is read until Load.
func New(dir string, opts k8s.Options, log *zap.Logger) *Adapter {
	return &Adapter{dir: dir, opts: opts, log: log.With(zap.String("adapter", "file"), zap.String("dir", dir)),
		lastGood: map[string]*object{}}
}

// Part returns what the directory held at the last Load.
func (a *Adapter) Part() model.Part {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.part
}

// Load reads the whole directory again. A document that cannot be used is reported (file, document
// index, object, reason) and skipped; if it names an object that was good before, that last good
// version stays in force. Only an unreadable directory is an error.
func (a *Adapter) Load() error {
	files, err := manifestFiles(a.dir)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()

	inForce := map[string]*object{}
	var rejections []model.Rejection
	damaged := map[string]bool{} // files with a document that could not even be identified
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(a.dir, name))
		if err != nil {
			rejections = append(rejections, model.Rejection{Meta: model.Meta{Source: name}, Reason: err.Error()})
			damaged[name] = true
			continue
		}
		objs, errs := parseFile(name, data)
		for _, o := range objs {
			if prev, dup := inForce[o.key]; dup {
				rejections = append(rejections, model.Rejection{Meta: metaOf(o), Reason: fmt.Sprintf("%s is defined twice; the definition in %s is used", o.key, prev.source)})
				continue
			}
			inForce[o.key] = o
		}
		for _, e := range errs {
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
	a.lastGood = inForce
	a.part = a.build(inForce, rejections)
	return nil
}

func (a *Adapter) build(objs map[string]*object, rejections []model.Rejection) model.Part {
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var kube k8s.Objects
	var configs []model.Config
	for _, k := range keys {
		o := objs[k]
		switch {
		case o.service != nil:
			kube.Services = append(kube.Services, o.service)
		case o.endpointSlice != nil:
			kube.EndpointSlices = append(kube.EndpointSlices, o.endpointSlice)
		case o.endpoints != nil:
			kube.Endpoints = append(kube.Endpoints, o.endpoints)
		case o.pod != nil:
			kube.Pods = append(kube.Pods, o.pod)
		case o.node != nil:
			kube.Nodes = append(kube.Nodes, o.node)
		case o.config != nil:
			configs = append(configs, o.config)
		}
	}
	part := kube.Part(a.opts)
	for _, c := range configs {
		part.Add(c)
	}
	part.Rejections = rejections
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

// manifestFiles lists the YAML and JSON files below dir, relative to it, sorted. Hidden files and
// directories (editor swap files, Kubernetes ConfigMap "..data" links) are skipped.
func manifestFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading config directory %s: %w", dir, err)
	}
	slices.SortFunc(files, cmp.Compare)
	return files, nil
}
