package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsnotify/fsnotify"

	"github.com/minipilot/minipilot/model"
)

// Two routes: jason to v2, everyone else to v1. Cut after the first, it still parses and validates,
// and everyone but jason gets 404.
const twoRouteVS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`

const reviewsDR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`

// rulesFile is what the tests start from, and (with v3 for v1) what the writer means to write.
var rulesFile = twoRouteVS + "---\n" + reviewsDR

func routes(p model.Part) int {
	if len(p.VirtualServices) != 1 {
		return -1
	}
	return len(p.VirtualServices[0].Spec.HTTP)
}

// writeInPlace writes content over the file in steps, as `cp` or a slow script does, waiting after
// each step until the loop has seen it.
func writeInPlace(h *watchHarness, name string, chunks ...string) *os.File {
	h.t.Helper()
	path := filepath.Join(h.dir, name)
	rel := filepath.Join(h.name(), name)
	if err := os.Truncate(path, 0); err != nil {
		h.t.Fatal(err)
	}
	h.waitEvent(fsnotify.Write, rel)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { f.Close() })
	for _, c := range chunks {
		if c == "" {
			continue // writes nothing, and no event says so
		}
		if _, err := f.WriteString(c); err != nil {
			h.t.Fatal(err)
		}
		h.waitEvent(fsnotify.Write, rel)
	}
	return f
}

func appendTo(h *watchHarness, f *os.File, name, chunk string) {
	h.t.Helper()
	if _, err := f.WriteString(chunk); err != nil {
		h.t.Fatal(err)
	}
	h.waitEvent(fsnotify.Write, filepath.Join(h.name(), name))
}

// TestHalfWrittenFileIsNotServed: a writer that pauses longer than the settle time mid-file does not
// get its partial file served, whether the part parses (routes or whole objects missing) or not;
// the whole file is used once it has stayed the same for the hold time.
func TestHalfWrittenFileIsNotServed(t *testing.T) {
	final := strings.Replace(rulesFile, "subset: v1", "subset: v3", 1) + "  # end\n"
	cases := []struct {
		name string
		cut  int // bytes of final written before the pause
	}{
		{"cut mid-list: routes missing, still valid", strings.Index(final, "  - route:")},
		{"cut between documents: an object missing", strings.Index(final, "---\n")},
		{"cut mid-line: does not parse", strings.Index(final, "subset: v2") + 4},
		{"nothing written yet", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := configDir(t)
			write(t, dir, "rules.yaml", rulesFile)
			h := startWatch(t, dir)
			f := writeInPlace(h, "rules.yaml", final[:tc.cut])
			h.after(h.a.timing.settle, stepHeld)
			part := h.part()
			if routes(part) != 2 || part.VirtualServices[0].Spec.HTTP[1].Route[0].Destination.Subset != "v1" || len(part.DestinationRules) != 1 {
				t.Fatalf("the previous rules should stay in force while the file is written, got %d routes, %d destination rules", routes(part), len(part.DestinationRules))
			}
			if len(part.Rejections) != 1 || part.Rejections[0].Source != "rules.yaml" || !strings.Contains(part.Rejections[0].Reason, "perhaps still being written") {
				t.Errorf("configz should say rules.yaml is held, got %+v", part.Rejections)
			}

			appendTo(h, f, "rules.yaml", final[tc.cut:])
			h.after(h.a.timing.settle, stepHeld) // changed again: the hold starts over
			h.after(h.a.timing.hold, stepAccepted)
			part = h.part()
			if routes(part) != 2 || part.VirtualServices[0].Spec.HTTP[1].Route[0].Destination.Subset != "v3" || len(part.DestinationRules) != 1 || len(part.Rejections) != 0 {
				t.Fatalf("want the whole new file once it stays the same, got %+v / %+v", part.VirtualServices, part.Rejections)
			}
		})
	}
}

// TestRenamedFileIsUsedAtOnce: a rename into place cannot be half-done, so even a change that
// removes an object is used after the settle time alone.
func TestRenamedFileIsUsedAtOnce(t *testing.T) {
	dir := configDir(t)
	write(t, dir, "rules.yaml", rulesFile)
	h := startWatch(t, dir)
	renameInto(t, filepath.Join(dir, "rules.yaml"), twoRouteVS)
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "rules.yaml"))
	h.after(h.a.timing.settle, stepAccepted)
	if part := h.part(); routes(part) != 2 || len(part.DestinationRules) != 0 {
		t.Fatalf("want the DestinationRule gone at once, got %+v", part.DestinationRules)
	}
}

// TestRemovedFileIsWithdrawnAfterHold: a file that disappears (an editor moving it aside to save, a
// directory emptied to be refilled) keeps its objects until it has stayed away for the hold time.
func TestRemovedFileIsWithdrawnAfterHold(t *testing.T) {
	dir := configDir(t)
	write(t, dir, "svc.yaml", reviewsService)
	write(t, dir, "rules.yaml", rulesFile)
	h := startWatch(t, dir)
	if err := os.Remove(filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Remove, filepath.Join(h.name(), "rules.yaml"))
	h.after(h.a.timing.settle, stepHeld)
	if part := h.part(); routes(part) != 2 || len(part.Rejections) != 1 || !strings.Contains(part.Rejections[0].Reason, "removed") {
		t.Fatalf("a removed file's objects stay for the hold time, got %d routes / %+v", routes(part), part.Rejections)
	}

	renameInto(t, filepath.Join(dir, "rules.yaml"), rulesFile) // back, as an editor's save ends
	h.waitEvent(fsnotify.Create, filepath.Join(h.name(), "rules.yaml"))
	h.after(h.a.timing.settle, stepAccepted)
	if part := h.part(); routes(part) != 2 || len(part.Rejections) != 0 {
		t.Fatalf("the file is back, renamed into place: nothing to hold, got %+v", part.Rejections)
	}

	if err := os.Remove(filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(fsnotify.Remove, filepath.Join(h.name(), "rules.yaml"))
	h.after(h.a.timing.settle, stepHeld)
	h.after(h.a.timing.hold, stepAccepted)
	if part := h.part(); len(part.VirtualServices) != 0 || len(part.Services) != 1 || len(part.Rejections) != 0 {
		t.Fatalf("removed for the hold time: withdrawn, got %+v / %+v", part.VirtualServices, part.Rejections)
	}
}
