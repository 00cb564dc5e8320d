package meshconfig

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/model"
)

// Source is the model source of the mesh config: a Part holding only the config in force, and a
// Rejection while the latest document is refused (the last good one, or Istio's defaults, stays in
// force).
type Source struct {
	log *zap.Logger

	mu        sync.Mutex
	mesh      *model.MeshConfig
	rejection *model.Rejection
	last      []byte // the document last applied or refused, so an unchanged one costs nothing
	seen      bool
}

// NewSource starts with Istio's defaults.
func NewSource(log *zap.Logger) *Source {
	return &Source{log: log.With(zap.String("component", "meshconfig")), mesh: model.DefaultMeshConfig()}
}

// Part returns the config in force.
func (s *Source) Part() model.Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := model.Part{Mesh: s.mesh}
	if s.rejection != nil {
		p.Rejections = []model.Rejection{*s.rejection}
	}
	return p
}

// Mesh returns the config in force.
func (s *Source) Mesh() *model.MeshConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mesh
}

// Apply reads a document (nil: there is none, so Istio's defaults) and says whether anything
// changed. A refused document keeps the config in force and is recorded as a Rejection.
func (s *Source) Apply(data []byte, source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen && bytes.Equal(data, s.last) && (data == nil) == (s.last == nil) {
		return false
	}
	s.seen, s.last = true, bytes.Clone(data)
	if data == nil {
		s.mesh, s.rejection = model.DefaultMeshConfig(), nil
		s.log.Info("no mesh config; Istio's defaults apply", zap.String("source", source))
		return true
	}
	mesh, err := Parse(data, source)
	if err != nil {
		s.rejection = &model.Rejection{Meta: model.Meta{Kind: "MeshConfig", Name: "mesh", Source: source}, Reason: err.Error()}
		s.log.Error("mesh config refused; the last good one stays in force", zap.String("source", source), zap.Error(err))
		return true
	}
	for _, w := range mesh.Warnings {
		s.log.Warn("mesh config", zap.String("source", source), zap.String("warning", w))
	}
	s.mesh, s.rejection = mesh, nil
	s.log.Info("mesh config applied", zap.String("source", source), zap.String("rootNamespace", mesh.RootNamespace),
		zap.String("outboundTrafficPolicy", mesh.OutboundTrafficPolicy))
	return true
}

// Registration is what a source tells the store through (model.Registration).
type Registration interface {
	Changed()
	Synced()
}

// FilePollInterval is how often a mesh config file is read again.
const FilePollInterval = time.Second

// RunFile keeps the source on a file: read once (synced then, whatever it held), then again every
// FilePollInterval; a change (a ConfigMap volume update too) is applied within about a second. A
// missing file means Istio's defaults.
func (s *Source) RunFile(ctx context.Context, path string, reg Registration, clk clock.WithTicker) error {
	read := func() {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			data = nil
		case err != nil:
			s.log.Warn("cannot read the mesh config file; the config in force stays", zap.String("path", path), zap.Error(err))
			return
		case data == nil:
			data = []byte{}
		}
		if s.Apply(data, path) {
			reg.Changed()
		}
	}
	read()
	reg.Synced()
	t := clk.NewTicker(FilePollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			read()
		}
	}
}
