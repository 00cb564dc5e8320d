package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/model"
)

// watchHarness runs an adapter's watch on a fake clock. Tests advance the clock only once the loop
// has seen the events they caused (inotify reports them in order), and then wait for what the loop
// did with the read that follows, so nothing depends on how fast the machine is.
type watchHarness struct {
	t     *testing.T
	dir   string
	a     *Adapter
	store *model.Store
	clk   *clocktesting.FakeClock

	mu    sync.Mutex
	steps []step
	more  chan struct{} // signalled when a step is added
}

// patience bounds every wait for the loop; it is generous because only a broken watch needs it.
const patience = 20 * time.Second

func startWatch(t *testing.T, dir string) *watchHarness {
	t.Helper()
	h := &watchHarness{t: t, dir: dir, clk: clocktesting.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)),
		more: make(chan struct{}, 1)}
	h.a = newAdapter(t, dir)
	h.a.onStep = func(s step) {
		h.mu.Lock()
		h.steps = append(h.steps, s)
		h.mu.Unlock()
		select {
		case h.more <- struct{}{}:
		default:
		}
	}
	h.store = model.NewStore("cluster.local", h.clk.Now)
	reg := h.store.Register("file", h.a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.a.Run(ctx, reg, h.clk) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	h.waitStep("the loop to start", func(s step) bool { return s.kind == stepWatching })
	return h
}

// waitStep consumes steps until one satisfies ok.
func (h *watchHarness) waitStep(what string, ok func(step) bool) step {
	h.t.Helper()
	deadline := time.After(patience)
	for {
		h.mu.Lock()
		for len(h.steps) > 0 {
			s := h.steps[0]
			h.steps = h.steps[1:]
			if ok(s) {
				h.mu.Unlock()
				return s
			}
		}
		h.mu.Unlock()
		select {
		case <-h.more:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitEvent waits until the loop has seen op on the path (relative to the directory's parent, so
// that the directory itself can be named).
func (h *watchHarness) waitEvent(op fsnotify.Op, rel string) {
	h.t.Helper()
	want := filepath.Join(filepath.Dir(h.dir), rel)
	h.waitStep(op.String()+" "+rel, func(s step) bool {
		return s.kind == stepEvent && s.event.Has(op) && filepath.Clean(s.event.Name) == want
	})
}

// after advances the clock by d and waits for the read that follows, which must end as want.
func (h *watchHarness) after(d time.Duration, want stepKind) {
	h.t.Helper()
	h.clk.Step(d)
	got := h.waitStep("a read", func(s step) bool {
		if s.kind == stepEvent { // one more event than the test waited for: its read is due after settle
			h.clk.Step(h.a.timing.settle)
		}
		return s.kind >= stepAccepted && s.kind <= stepMissing
	})
	if got.kind != want {
		h.t.Fatalf("the read ended as %v, want %v", got.kind, want)
	}
}

func (h *watchHarness) part() model.Part { return h.a.Part() }

// name is the directory's name, for waitEvent.
func (h *watchHarness) name() string { return filepath.Base(h.dir) }

func (k stepKind) String() string {
	return [...]string{"watching", "event", "accepted", "held", "unchanged", "missing", "rescan", "read"}[k]
}

// renameInto writes a file atomically, as editors and kubectl-style tools do.
func renameInto(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func servicePort(p model.Part) int {
	if len(p.Services) != 1 || len(p.Services[0].Ports) != 1 {
		return 0
	}
	return int(p.Services[0].Ports[0].Port)
}

func reviewsServiceOn(port string) string { return strings.Replace(reviewsService, "9080", port, 1) }

func configDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "config")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWatchSurvivesDirectoryRecreated: removing the directory keeps the config in force (and says so
// in /debug/configz); a directory made again under the same name is watched and read.
func TestWatchSurvivesDirectoryRecreated(t *testing.T) {
	dir := configDir(t)
	write(t, dir, "svc.yaml", reviewsService)
	h := startWatch(t, dir)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Remove, h.name())
	h.after(h.a.timing.settle, stepMissing)
	part := h.part()
	if servicePort(part) != 9080 {
		t.Fatalf("while the directory is gone its last config stays in force, got %+v", part.Services)
	}
	if len(part.Rejections) != 1 || part.Rejections[0].Source != dir || !strings.Contains(part.Rejections[0].Reason, "stays in force") {
		t.Fatalf("configz should say the directory is gone, got %+v", part.Rejections)
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Create, h.name())
	write(t, dir, "svc.yaml", reviewsServiceOn("9081"))
	h.waitEvent(fsnotify.Write, filepath.Join(h.name(), "svc.yaml"))
	h.after(h.a.timing.settle, stepHeld) // a directory made anew is filled in steps
	if servicePort(h.part()) != 9080 {
		t.Fatalf("a recreated directory is used once it stays the same, got %+v", h.part().Services)
	}
	h.after(h.a.timing.hold, stepAccepted)
	if part := h.part(); servicePort(part) != 9081 || len(part.Rejections) != 0 {
		t.Fatalf("want the recreated directory's service on 9081 and no rejections, got %+v / %+v", part.Services, part.Rejections)
	}

	renameInto(t, filepath.Join(dir, "svc.yaml"), reviewsServiceOn("9082"))
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "svc.yaml"))
	h.after(h.a.timing.settle, stepAccepted)
	if servicePort(h.part()) != 9082 {
		t.Fatalf("the recreated directory should be watched, got %+v", h.part().Services)
	}
}

// TestWatchSurvivesDirectorySwappedWithMv: `mv config config.old; mv config.new config` serves the
// new directory and watches it, not the old one.
func TestWatchSurvivesDirectorySwappedWithMv(t *testing.T) {
	dir := configDir(t)
	write(t, dir, "svc.yaml", reviewsService)
	next := dir + ".new"
	if err := os.Mkdir(next, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, next, "svc.yaml", reviewsServiceOn("9081"))
	h := startWatch(t, dir)

	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Create, h.name())
	h.after(h.a.timing.settle, stepHeld)
	h.after(h.a.timing.hold, stepAccepted)
	if servicePort(h.part()) != 9081 {
		t.Fatalf("want the swapped-in directory's service, got %+v", h.part().Services)
	}

	renameInto(t, filepath.Join(dir, "svc.yaml"), reviewsServiceOn("9082"))
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "svc.yaml"))
	h.after(h.a.timing.settle, stepAccepted)
	if servicePort(h.part()) != 9082 {
		t.Fatalf("the swapped-in directory should be watched, got %+v", h.part().Services)
	}
}

// TestWatchSurvivesDirectoryLinkSwapped: a config directory that is a link, repointed atomically.
func TestWatchSurvivesDirectoryLinkSwapped(t *testing.T) {
	base := t.TempDir()
	for v, port := range map[string]string{"v1": "9080", "v2": "9081"} {
		if err := os.Mkdir(filepath.Join(base, v), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(base, v), "svc.yaml", reviewsServiceOn(port))
	}
	dir := filepath.Join(base, "config")
	if err := os.Symlink("v1", dir); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, dir)
	if servicePort(h.part()) != 9080 {
		t.Fatalf("want v1 through the link, got %+v", h.part())
	}

	if err := os.Symlink("v2", dir+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".tmp", dir); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Create, h.name())
	h.after(h.a.timing.settle, stepHeld)
	h.after(h.a.timing.hold, stepAccepted)
	if servicePort(h.part()) != 9081 {
		t.Fatalf("want v2 after the link moved, got %+v", h.part().Services)
	}
	renameInto(t, filepath.Join(base, "v2", "svc.yaml"), reviewsServiceOn("9082"))
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "svc.yaml"))
	h.after(h.a.timing.settle, stepAccepted)
	if servicePort(h.part()) != 9082 {
		t.Fatalf("the link's new target should be watched, got %+v", h.part().Services)
	}
}

// TestWatchConfigMapVolume: a Kubernetes ConfigMap volume (files linked through "..data" to a
// timestamped directory, updated by swapping "..data") is read once per file, and an update is
// used at once: it is atomic.
func TestWatchConfigMapVolume(t *testing.T) {
	dir := configDir(t)
	version := func(name string, files map[string]string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for f, content := range files {
			write(t, filepath.Join(dir, name), f, content)
		}
	}
	version("..2026_12_01_00_00_00.000000001", map[string]string{"svc.yaml": reviewsService, "vs.yaml": reviewsVS})
	if err := os.Symlink("..2026_12_01_00_00_00.000000001", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"svc.yaml", "vs.yaml"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	h := startWatch(t, dir)
	part := h.part()
	if servicePort(part) != 9080 || len(part.VirtualServices) != 1 || len(part.Rejections) != 0 {
		t.Fatalf("each file once, through its link: got %d services, %d virtual services, rejections %+v",
			len(part.Services), len(part.VirtualServices), part.Rejections)
	}

	// What the kubelet's AtomicWriter does.
	version("..2026_12_01_00_01_00.000000002", map[string]string{"svc.yaml": reviewsServiceOn("9081"), "vs.yaml": reviewsVS})
	if err := os.Symlink("..2026_12_01_00_01_00.000000002", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_12_01_00_00_00.000000001")); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Remove, filepath.Join(h.name(), "..2026_12_01_00_00_00.000000001"))
	h.after(h.a.timing.settle, stepAccepted)
	part = h.part()
	if servicePort(part) != 9081 || len(part.VirtualServices) != 1 || len(part.Rejections) != 0 {
		t.Fatalf("want the updated ConfigMap at once: got %+v / %d virtual services / %+v", part.Services, len(part.VirtualServices), part.Rejections)
	}
}

// TestWatchRescanFindsMissedChange: a change no event announces (here a file linked from outside
// the directory, edited there) is found by the periodic rescan.
func TestWatchRescanFindsMissedChange(t *testing.T) {
	dir := configDir(t)
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, outside, "svc.yaml", reviewsService)
	if err := os.Symlink(filepath.Join(outside, "svc.yaml"), filepath.Join(dir, "svc.yaml")); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, dir)

	write(t, outside, "svc.yaml", reviewsServiceOn("9081"))
	h.clk.Step(h.a.timing.rescan)
	h.waitStep("the rescan", func(s step) bool { return s.kind == stepRescan })
	h.after(h.a.timing.settle, stepHeld) // no event said how it was written
	h.after(h.a.timing.hold, stepAccepted)
	if servicePort(h.part()) != 9081 {
		t.Fatalf("the rescan should have found the edit, got %+v", h.part().Services)
	}
}

// A change reads the files events named, not the whole directory (at a thousand services, reading
// and hashing every file made up most of an endpoint change's way through the adapter). A file
// rewritten in place to the same size and modification time is read again all the same: the event
// named it. And an event on a hidden entry (a ConfigMap volume's link) or a missed event has every
// file read.
func TestWatchReadsOnlyTheFilesEventsNamed(t *testing.T) {
	dir := configDir(t)
	for i := range 5 {
		write(t, dir, fmt.Sprintf("svc-%d.yaml", i), strings.ReplaceAll(reviewsService, "reviews", fmt.Sprintf("svc-%d", i)))
	}
	h := startWatch(t, dir)
	readOf := func(want stepKind) int {
		t.Helper()
		h.clk.Step(h.a.timing.settle)
		n := h.waitStep("a read", func(s step) bool { return s.kind == stepRead }).read
		h.after(0, want)
		return n
	}

	renameInto(t, filepath.Join(dir, "svc-1.yaml"), strings.ReplaceAll(reviewsServiceOn("9081"), "reviews", "svc-1"))
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "svc-1.yaml"))
	if n := readOf(stepAccepted); n != 1 {
		t.Fatalf("a file renamed into place: %d files read, want 1", n)
	}

	// The same size and modification time, other content: only the event says it changed.
	path := filepath.Join(dir, "svc-2.yaml")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "svc-2.yaml", strings.ReplaceAll(reviewsServiceOn("9082"), "reviews", "svc-2"))
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Chmod, filepath.Join(h.name(), "svc-2.yaml")) // the last event of the three
	if n := readOf(stepHeld); n != 1 {
		t.Fatalf("a file written in place: %d files read, want 1", n)
	}
	h.clk.Step(h.a.timing.hold) // the hold's read: nothing named a file since, so nothing is read
	if n := h.waitStep("the hold's read", func(s step) bool { return s.kind == stepRead }).read; n != 0 {
		t.Fatalf("the hold's read read %d files, want none", n)
	}
	if s := h.waitStep("the hold to end", func(s step) bool { return s.kind >= stepAccepted && s.kind <= stepMissing }); s.kind != stepAccepted {
		t.Fatalf("the hold ended as %v", s.kind)
	}
	var ports []uint32
	for _, svc := range h.part().Services {
		ports = append(ports, svc.Ports[0].Port)
	}
	if !slices.Equal(ports, []uint32{9080, 9081, 9082, 9080, 9080}) {
		t.Fatalf("service ports %v after the changes", ports)
	}

}

// A ConfigMap volume's update changes no manifest in place: its links lead to other files. Those
// are read even when they have the size and modification time of the files they replace.
func TestWatchReadsAConfigMapUpdateOfTheSameSizeAndTime(t *testing.T) {
	dir := configDir(t)
	version := func(name, content string, mtime time.Time) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), "svc.yaml", content)
		if err := os.Chtimes(filepath.Join(dir, name, "svc.yaml"), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	version("..v1", reviewsService, mtime)
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "svc.yaml"), filepath.Join(dir, "svc.yaml")); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, dir)
	version("..v2", reviewsServiceOn("9081"), mtime)
	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "..data"))
	h.after(h.a.timing.settle, stepAccepted)
	if servicePort(h.part()) != 9081 {
		t.Fatalf("want the updated ConfigMap's service on 9081, got %+v", h.part().Services)
	}
}
