package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/minipilot/minipilot/model"
)

// timing says when the watch reads the directory and when it believes what it read.
type timing struct {
	// settle is how long the directory must be quiet after an event before it is read: one edit
	// is several events (write, rename, chmod) that come within microseconds, and one read should see
	// them all. In-place writes are held (below), so this need not wait for slow writers.
	settle time.Duration
	// hold is how long content that may be half-written must stay the same before it is used:
	// a file written in place, a removed file, a recreated or swapped directory, a change no event
	// announced. A rename into place is instant and needs no hold.
	hold time.Duration
	// rescan is how often the directory is compared with its fingerprint, to recover from events
	// that never came (a watch lost with its directory, a link pointing outside the directory).
	rescan time.Duration
}

func defaultTiming() timing {
	return timing{settle: 10 * time.Millisecond, hold: time.Second, rescan: 30 * time.Second}
}

// Run loads the directory, registers it as synced, and reloads it whenever something in it changes,
// until ctx ends. It survives the directory being removed, recreated, renamed or swapped: while it is
// gone the last config stays in force.
func (a *Adapter) Run(ctx context.Context, reg *model.Registration, clk clock.Clock) error {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", a.dir, err)
	}
	defer fsw.Close()
	abs, err := filepath.Abs(a.dir)
	if err != nil {
		return fmt.Errorf("watching %s: %w", a.dir, err)
	}
	w := &watch{a: a, reg: reg, clk: clk, fsw: fsw, dir: abs, parent: filepath.Dir(abs), written: map[string]bool{}, touched: map[string]bool{}}
	if err := w.watchTree(abs); err != nil {
		return err
	}
	w.watched, _ = os.Stat(abs)
	w.watchParent()
	w.print, _ = fingerprint(a.dir) // before the read, so that a change during it shows
	if err := a.Load(); err != nil {
		return err
	}
	reg.Synced()
	return w.loop(ctx)
}

// watch is the state of Run's loop.
type watch struct {
	a           *Adapter
	reg         *model.Registration
	clk         clock.Clock
	fsw         *fsnotify.Watcher
	dir, parent string      // absolute
	watched     os.FileInfo // the directory the watches are on
	print       dirPrint    // of the directory at the last read

	// Since the content in force was accepted:
	written  map[string]bool // manifests written in place (an event said so)
	replaced bool            // the directory itself was removed, recreated, renamed or swapped
	missed   bool            // the rescan found a change no event announced
	missing  bool            // the directory is gone (or unreadable) now

	touched  map[string]bool // the manifests an event named since the last read began
	lastRead dirState        // what that read found (nil: the content in force, Load's)

	pending      dirState  // content read but not in force yet, because it must first stay the same
	pendingSince time.Time // when pending was read
	heldSince    time.Time // when the first content not in force yet was read
	warnedHeld   bool

	readTimer clock.Timer
	readC     <-chan time.Time // nil when no read is due
}

func (w *watch) loop(ctx context.Context) error {
	rescan := w.clk.NewTimer(w.a.timing.rescan)
	defer rescan.Stop()
	w.a.report(step{kind: stepWatching})
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return nil
			}
			w.event(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return nil
			}
			// An overflowed event queue loses events: read the directory as the rescan would.
			w.a.log.Warn("watch error; reading the directory again", zap.Error(err))
			w.missed = true
			w.readIn(w.a.timing.settle)
		case <-w.readC:
			w.readC = nil
			w.reload()
		case <-rescan.C():
			w.rescan()
			rescan.Reset(w.a.timing.rescan)
		}
	}
}

func (w *watch) event(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	switch {
	case name == w.dir:
		if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.replaced = true
			w.rewatch() // on a new directory; none, while it is gone
		}
	case w.parent != w.dir && filepath.Dir(name) == w.parent:
		return // a sibling of the directory, seen by the parent's watch
	default:
		rel, err := filepath.Rel(w.dir, name)
		if err != nil {
			return
		}
		if ev.Has(fsnotify.Create) && !hiddenPath(rel) {
			if info, err := os.Lstat(name); err == nil && info.IsDir() {
				_ = w.watchTree(name) // a new subdirectory is watched too
			}
		}
		if ev.Has(fsnotify.Write) && isManifestPath(rel) {
			w.written[rel] = true
		}
		if isManifestPath(rel) {
			w.touched[rel] = true
		}
		// (Any other entry changes no manifest's content in place: a manifest that is a link into
		// a swapped directory, as a ConfigMap volume's are, is another file now, which read sees.)
	}
	w.readIn(w.a.timing.settle)
	w.a.report(step{kind: stepEvent, event: ev})
}

// readIn schedules a read of the directory after d.
func (w *watch) readIn(d time.Duration) {
	if w.readTimer == nil {
		w.readTimer = w.clk.NewTimer(d)
	} else {
		if !w.readTimer.Stop() {
			select { // drop a tick not received yet: a fake clock's timer would block on it
			case <-w.readTimer.C():
			default:
			}
		}
		w.readTimer.Reset(d)
	}
	w.readC = w.readTimer.C()
}

// reload reads the directory and decides whether what it holds now goes in force.
func (w *watch) reload() {
	a := w.a
	print, _ := fingerprint(a.dir)
	accepted := a.acceptedState()
	state, read, err := a.read(w.quiet(accepted), accepted, w.pending)
	if err != nil {
		w.gone(err)
		return
	}
	w.lastRead = state
	a.report(step{kind: stepRead, read: read})
	if w.missing {
		a.log.Info("config directory is back")
		w.missing, w.replaced = false, true
	}
	if w.watched == nil || print.dir == nil || !os.SameFile(w.watched, print.dir) {
		w.replaced = true // events were missed: watch what is there now
		w.rewatch()
	}
	w.print = print
	now := w.clk.Now()
	switch {
	case state.sameContent(accepted):
		w.settled()
		if a.note(nil) {
			w.reg.Changed()
		}
		a.report(step{kind: stepUnchanged})
		return
	case w.pending != nil && state.sameContent(w.pending):
		if now.Sub(w.pendingSince) >= a.timing.hold {
			w.accept(state, "its content stayed the same for the hold time")
			return
		}
	case w.safe(accepted, state):
		w.accept(state, "at once: every change was a rename into place")
		return
	default:
		w.hold(accepted, state, now)
	}
	w.readIn(w.pendingSince.Add(a.timing.hold).Sub(now))
	a.report(step{kind: stepHeld})
}

// quiet gives, for a read about to begin, the version the last read found of each manifest no
// event can have changed since (nil: it must be read). Only a watch that missed nothing vouches for
// them; events that come during the read are kept for the next one.
func (w *watch) quiet(accepted dirState) func(string) *fileVersion {
	touched, last := w.touched, w.lastRead
	w.touched = map[string]bool{}
	if w.replaced || w.missed || w.missing {
		return nil
	}
	if last == nil {
		last = accepted
	}
	return func(name string) *fileVersion {
		if touched[name] {
			return nil
		}
		return last[name]
	}
}

// hold starts (or starts over) the wait for content that may be half-written to stay the same.
func (w *watch) hold(accepted, state dirState, now time.Time) {
	a := w.a
	if w.pending == nil {
		w.heldSince = now
	}
	w.pending, w.pendingSince = state, now
	files := changedFiles(accepted, state)
	if a.note(heldNotes(accepted, state, a.timing.hold)) {
		w.reg.Changed()
	}
	switch held := now.Sub(w.heldSince); {
	case held == 0:
		a.log.Info("config directory changed; using the change once it stays the same",
			zap.Duration("hold", a.timing.hold), zap.Strings("files", files))
	case held >= heldTooLong && !w.warnedHeld:
		w.warnedHeld = true
		a.log.Warn("config directory keeps changing; its last stable content stays in force",
			zap.Duration("for", held), zap.Strings("files", files))
	}
}

// heldTooLong is when a change that never settles is worth a warning: something rewrites a file
// over and over, or writes it very slowly.
const heldTooLong = time.Minute

// safe says whether a change can go in force at once: every changed file was renamed into place
// (no event said it was written in place), none was removed, and the directory was not replaced.
func (w *watch) safe(accepted, state dirState) bool {
	if w.replaced || w.missed {
		return false
	}
	for name := range accepted {
		if _, ok := state[name]; !ok {
			return false
		}
	}
	for name, v := range state {
		if old, ok := accepted[name]; (!ok || !old.same(v)) && w.written[name] {
			return false
		}
	}
	return true
}

func (w *watch) accept(state dirState, how string) {
	w.a.accept(state)
	w.settled()
	w.a.log.Info("config directory reloaded", zap.String("used", how))
	w.reg.Changed()
	w.a.report(step{kind: stepAccepted})
}

// settled forgets what happened since the last accepted content.
func (w *watch) settled() {
	clear(w.written)
	w.replaced, w.missed, w.pending, w.warnedHeld = false, false, nil, false
}

// gone keeps the config in force while the directory cannot be read, and says so.
func (w *watch) gone(err error) {
	if !w.missing {
		w.missing = true
		w.a.log.Warn("config directory cannot be read; serving the config last read from it", zap.Error(err))
		w.rewatch() // drop the watches of a directory renamed away
	}
	w.pending = nil
	note := model.Rejection{Meta: model.Meta{Source: w.a.dir},
		Reason: fmt.Sprintf("%v; the config last read from it stays in force", err)}
	if w.a.note([]model.Rejection{note}) {
		w.reg.Changed()
	}
	w.a.report(step{kind: stepMissing})
}

// rescan compares the directory with its fingerprint at the last read, and reads it again if they
// differ although no event said so.
func (w *watch) rescan() {
	w.watchParent() // in case the parent was replaced too
	defer w.a.report(step{kind: stepRescan})
	if w.readC != nil {
		return // a read is due anyway
	}
	print, err := fingerprint(w.a.dir)
	if err == nil && !w.missing && print.equal(w.print) {
		return
	}
	if err == nil {
		w.a.log.Warn("config directory changed without a watch event; reading it again")
	}
	w.missed = true
	w.readIn(w.a.timing.settle)
}

// rewatch drops every watch but the parent's and watches the directory tree as it is now.
func (w *watch) rewatch() {
	for _, p := range w.fsw.WatchList() {
		if p != w.parent {
			_ = w.fsw.Remove(p)
		}
	}
	w.watched = nil
	if err := w.watchTree(w.dir); err != nil {
		if !os.IsNotExist(err) {
			w.a.log.Warn("cannot watch the config directory; the rescan will retry", zap.Error(err))
		}
		return
	}
	w.watched, _ = os.Stat(w.dir)
}

// watchParent watches the directory's parent, which sees the directory removed, recreated, renamed
// or (for a link) swapped: its own watch goes with it.
func (w *watch) watchParent() {
	if w.parent == w.dir {
		return
	}
	if err := w.fsw.Add(w.parent); err != nil {
		w.a.log.Debug("cannot watch the config directory's parent; the rescan notices it replaced", zap.Error(err))
	}
}

// watchTree adds a watch on dir and every directory below it that is not hidden. A link is followed
// for dir itself, and the watches are named below dir, as events must be.
func (w *watch) watchTree(dir string) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // vanished meanwhile; the next event says what happened
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && hidden(d.Name()) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		if err := w.fsw.Add(filepath.Join(dir, rel)); err != nil {
			return fmt.Errorf("watching %s: %w", p, err)
		}
		return nil
	})
}

// step is what the watch loop did, for tests to wait on (Adapter.onStep).
type step struct {
	kind  stepKind
	event fsnotify.Event // of a stepEvent
	read  int            // of a stepRead: the files read
}

type stepKind int

const (
	stepWatching  stepKind = iota // the loop runs
	stepEvent                     // an event was seen; a read is scheduled
	stepAccepted                  // a read went in force
	stepHeld                      // a read is held until it stays the same
	stepUnchanged                 // a read found the content in force
	stepMissing                   // the directory cannot be read; the config in force stays
	stepRescan                    // the periodic rescan ran
	stepRead                      // the directory was read (and the read goes on to one of the above)
)

func (a *Adapter) report(s step) {
	if a.onStep != nil {
		a.onStep(s)
	}
}
