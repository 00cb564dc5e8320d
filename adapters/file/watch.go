package file

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/model"
)

// settle is how long the directory must be quiet before it is read again: editors and `cp` write a
// file in several steps, and reading between them would report a half-written document.
const settle = 50 * time.Millisecond

// Run loads the directory, registers it as synced, and reloads it whenever something in it changes,
// until ctx ends.
func (a *Adapter) Run(ctx context.Context, reg *model.Registration, clk clock.Clock) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", a.dir, err)
	}
	defer w.Close()
	if err := watchTree(w, a.dir); err != nil {
		return err
	}
	if err := a.Load(); err != nil {
		return err
	}
	reg.Synced()

	var timer clock.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				_ = watchTree(w, ev.Name) // a new subdirectory is watched too; a file is a no-op
			}
			if timer == nil {
				timer = clk.NewTimer(settle)
			} else {
				timer.Reset(settle)
			}
			fire = timer.C()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			a.log.Warn("watch error", zap.Error(err))
		case <-fire:
			fire = nil
			if err := a.Load(); err != nil {
				a.log.Error("reload failed; keeping the last config", zap.Error(err))
				continue
			}
			a.log.Info("config directory reloaded")
			reg.Changed()
		}
	}
}

// watchTree adds a watch on dir and every directory below it that is not hidden.
func watchTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile; the next event says what happened
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err := w.Add(p); err != nil {
			return fmt.Errorf("watching %s: %w", p, err)
		}
		return nil
	})
}
